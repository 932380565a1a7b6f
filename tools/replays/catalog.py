"""Every scenario of the library, by name, in index order."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from replays.scenario import Built

# name -> "module" (whose build() makes it) or "module:function"
SCENARIOS: dict[str, str] = {
    "toyota_recall_2010": "replays.s_toyota",
    "viral_roadmovie_campaign": "replays.s_roadmovie",
    "quiet_weeks": "replays.s_quiet",
    "vw_dieselgate_2015": "replays.s_dieselgate",
    "renault_emissions_raid_2016": "replays.s_renault_raid",
    "citroen_customer_service_storm": "replays.s_airline",
    "peugeot_sochaux_derailment": "replays.s_crisislex:build_megantic",
    "renault_glasgow_helicopter": "replays.s_crisislex:build_clutha",
    "peugeot_app_outage": "replays.s_app_outage",
    "citroen_airbag_stopdrive_2025": "replays.s_stopdrive",
    "volkswagen_data_breach_2021": "replays.s_breach",
    "renault5_launch_2024": "replays.s_harmless:build_launch",
    "toyota_lemans_2018": "replays.s_harmless:build_lemans",
}


def builder(name: str) -> Callable[[], Built]:
    module, _, function = SCENARIOS[name].partition(":")
    return getattr(import_module(module), function or "build")
