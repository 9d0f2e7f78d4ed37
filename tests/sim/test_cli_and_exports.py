"""The ``arbitrade sim`` command and the package's public names."""

from __future__ import annotations

import subprocess
import sys

import pytest

import arbitrade.sim
from arbitrade.cli import build_parser
from arbitrade.cli._sim import build_config
from arbitrade.sim import DEFAULT_API_KEY, SimConfigError


class TestCommand:
    def test_build_config_when_keys_and_faults_given_fills_sim_config(self) -> None:
        """Flags map to the config: keys with permissions, seed, port, faults."""
        args = build_parser().parse_args([
            "sim", "--port", "0", "--seed", "11", "--api-key", "k2", "--api-secret", "c2VjcmV0",
            "--permissions", "query", "--system-status", "cancel_only", "--stall", "book",
        ])  # fmt: skip
        config = build_config(args)
        assert config.seed == 11
        assert [k.key for k in config.api_keys] == [DEFAULT_API_KEY, "k2"]
        assert config.api_keys[1].permissions == frozenset({"query"})
        assert config.faults.system_status == "cancel_only"
        assert config.faults.stalled_channels == frozenset({"book"})

    def test_build_config_when_permission_unknown_raises(self) -> None:
        """An unknown permission is a configuration error naming the field."""
        args = build_parser().parse_args(
            ["sim", "--api-key", "k", "--api-secret", "c2VjcmV0", "--permissions", "everything"]
        )
        with pytest.raises(SimConfigError, match="permissions"):
            build_config(args)

    @pytest.mark.slow
    def test_sim_command_when_port_zero_prints_the_chosen_port(self) -> None:
        """``arbitrade sim --port 0`` prints the port it bound."""
        process = subprocess.Popen(
            [sys.executable, "-m", "arbitrade", "sim", "--port", "0", "--symbols", "BTC/USD"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
        finally:
            process.terminate()
            process.wait(timeout=10)
        assert line.startswith("arbitrade sim listening on port ")
        assert int(line.rsplit(" ", 1)[1]) > 0


def test_exported_names_when_listed_are_the_public_api() -> None:
    """The package exports exactly its documented public names."""
    assert set(arbitrade.sim.__all__) == {
        "DEFAULT_API_KEY", "DEFAULT_API_SECRET", "ApiKey", "Book", "FaultSettings",
        "FeeProfile", "FeeSchedule", "MarketModel", "MarketSettings", "MeanRevertingPair",
        "Mispricing", "Pair",
        "ReceivedOrder", "RunningSimulator", "Side", "SimConfig", "SimConfigError", "Simulator",
        "SimulatorProcessError", "SimulatorProcessHandle", "StepResult", "ThreadedSimulator",
        "Trade", "UnknownSymbol", "Universe",
        "book_checksum", "build_universe", "load_fee_schedule", "serve_simulator",
        "serve_simulator_process", "simulator_in_thread",
    }  # fmt: skip
    for name in arbitrade.sim.__all__:
        assert hasattr(arbitrade.sim, name)
