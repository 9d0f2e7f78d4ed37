"""Sweep parts that run no backtest: the space, point ids, objectives, the spec, the store, TPE."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from arbitrade.backtest.sweep import (
    OBJECTIVES,
    Choice,
    FloatRange,
    IntRange,
    ParameterSpace,
    PointRow,
    SweepNotFound,
    list_sweeps,
    load_sweep,
    load_sweep_spec,
    point_id,
    sweep_spec_from,
)
from arbitrade.backtest.sweep._sources import TpeSource
from arbitrade.backtest.sweep._space import apply_point, grid_points, random_points
from arbitrade.backtest.sweep._spec import SETTING_NAMES, spec_from_json
from arbitrade.backtest.sweep._store import create_sweep, finished_points, record_point
from arbitrade.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
BASE = {"events": ["recording"], "balances": {"USD": "10000"}}


def _sweep(parameters: dict[str, Any], **table: Any) -> dict[str, Any]:
    return {"parameters": parameters, **table}


class TestGrid:
    def test_grid_when_two_dimensions_varies_the_first_slowest(self) -> None:
        """A grid takes every combination, the first declared dimension varying slowest."""
        space = ParameterSpace("grid", (Choice("a", (1, 2)), IntRange("b", 0, 20, 10)))
        assert [dict(p.params) for p in grid_points(space)] == [
            {"a": 1, "b": 0},
            {"a": 1, "b": 10},
            {"a": 1, "b": 20},
            {"a": 2, "b": 0},
            {"a": 2, "b": 10},
            {"a": 2, "b": 20},
        ]

    def test_grid_when_real_range_has_step_gives_values_without_float_noise(self) -> None:
        """A real range with a step gives low, low+step, ... up to high, rounded."""
        space = ParameterSpace("grid", (FloatRange("x", 0.1, 0.4, 0.1),))
        assert [p.params["x"] for p in grid_points(space)] == [0.1, 0.2, 0.3, 0.4]

    def test_grid_when_real_range_has_no_step_is_refused(self) -> None:
        """A grid cannot enumerate a real range without a step."""
        parameter_table = _sweep({"capital": {"low": 500.0, "high": 1500.0}})
        with pytest.raises(ConfigError, match=r"sweep\.parameters\.capital: a grid needs a step"):
            sweep_spec_from(BASE, parameter_table)


class TestRandom:
    def test_random_when_same_seed_draws_the_same_points(self) -> None:
        """Seeded draws repeat exactly: a resumed sweep finds the points it ran."""
        space = ParameterSpace(
            "random",
            (
                FloatRange("x", 0.001, 10.0, log=True),
                IntRange("n", 1, 100),
                Choice("c", ("a", "b")),
            ),
            samples=8,
            seed=3,
        )
        first, second = random_points(space), random_points(space)
        assert [p.point_id for p in first] == [p.point_id for p in second]
        assert len(first) == 8

    def test_random_when_draws_repeat_keeps_each_point_once(self) -> None:
        """Duplicate draws are dropped, so a small space gives fewer points than samples."""
        space = ParameterSpace("random", (Choice("c", ("a", "b")),), samples=20, seed=1)
        assert sorted(p.params["c"] for p in random_points(space)) == ["a", "b"]

    def test_random_when_range_drawn_stays_inside_it(self) -> None:
        """Every drawn value lies within its range (log scale included)."""
        space = ParameterSpace(
            "random", (FloatRange("x", 0.5, 2.0, log=True), IntRange("n", 3, 9, 3)), 30, 5
        )
        for point in random_points(space):
            assert 0.5 <= float(point.params["x"]) <= 2.0
            assert point.params["n"] in (3, 6, 9)


class TestPointId:
    def test_point_id_when_keys_reordered_is_unchanged(self) -> None:
        """A point's id depends on its parameters, not on their order."""
        assert point_id({"a": 1, "b": "x"}) == point_id({"b": "x", "a": 1})

    def test_point_id_when_a_value_differs_changes(self) -> None:
        """Different values are different points (1 and 2, but also 1 and 1.5)."""
        assert point_id({"a": 1}) != point_id({"a": 2})
        assert point_id({"a": 1}) != point_id({"a": 1.5})


class TestApplyPoint:
    def test_apply_point_when_dotted_name_sets_inner_table_without_changing_base(self) -> None:
        """``parameters.k`` sets a key of the inner table (created if absent); base unchanged."""
        base = {"capital": "1000", "risk": {"max_open_cycles": 3}}
        out = apply_point(base, {"parameters.min_profit_bps": 5, "risk.cooldown_seconds": 1.0})
        assert out["parameters"] == {"min_profit_bps": 5}
        assert out["risk"] == {"max_open_cycles": 3, "cooldown_seconds": 1.0}
        assert base == {"capital": "1000", "risk": {"max_open_cycles": 3}}


class TestSpecRules:
    @pytest.mark.parametrize(
        ("sweep", "message"),
        [
            ({"method": "anneal", "parameters": {"seed": [1]}}, r"sweep\.method: expected one of"),
            ({"parameters": {}}, r"sweep\.parameters: name at least one"),
            ({"parameters": {"nonsense": [1]}}, r"'nonsense' is not a backtest setting"),
            ({"parameters": {"risk": [1]}}, r"sweep\.parameters\.risk: name a key inside risk"),
            ({"parameters": {"seed": []}}, r"sweep\.parameters\.seed: expected a non-empty"),
            ({"parameters": {"seed": {"low": 5, "high": 5}}}, r"expected finite low < high"),
            ({"parameters": {"seed": {"low": 1, "high": 5, "step": 0}}}, r"step must be"),
            ({"parameters": {"capital": {"low": 0, "high": 5, "log": True}}}, r"needs low > 0"),
            ({"method": "random", "parameters": {"seed": [1]}}, r"sweep\.samples: random needs"),
            ({"objective": "luck", "parameters": {"seed": [1]}}, r"sweep\.objective: expected"),
            ({"colour": 1, "parameters": {"seed": [1]}}, r"sweep\.colour: is not a known"),
        ],
    )
    def test_sweep_spec_when_rule_broken_names_the_key(
        self, sweep: dict[str, Any], message: str
    ) -> None:
        """Each violated sweep rule is one ConfigError naming the sweep key."""
        with pytest.raises(ConfigError, match=message):
            sweep_spec_from(BASE, sweep)

    def test_sweep_spec_when_first_grid_point_refused_by_settings_fails_early(self) -> None:
        """A parameter the strategy does not know fails when the sweep is defined."""
        with pytest.raises(ConfigError, match=r"backtest\.parameters\.min_profit"):
            sweep_spec_from(BASE, _sweep({"parameters.min_profit": [1]}))

    def test_sweep_spec_when_relative_events_makes_them_absolute(self) -> None:
        """Recording and fees paths are absolute in the stored spec."""
        spec = sweep_spec_from(BASE, _sweep({"seed": [1, 2]}))
        assert Path(spec.base["events"][0]).is_absolute()
        assert Path(spec.base["fees_path"]).is_absolute()

    def test_sweep_spec_when_stored_and_read_back_is_equal(self) -> None:
        """The JSON the sweeps table keeps gives back the same spec."""
        spec = sweep_spec_from(
            BASE,
            _sweep(
                {"seed": [1, 2], "capital": {"low": 100, "high": 900, "step": 400}},
                method="random",
                samples=3,
                objective="sharpe",
            ),
        )
        assert spec_from_json(spec.as_json()) == spec

    def test_example_sweep_file_when_loaded_is_valid(self) -> None:
        """config/sweep.example.toml passes every rule."""
        spec = load_sweep_spec(ROOT / "config" / "sweep.example.toml")
        assert spec.space.method == "grid"
        assert spec.objective in OBJECTIVES
        assert set(SETTING_NAMES) >= {
            name.split(".")[0] for name in spec.space.dimensions[0].name.split()
        }


class TestObjective:
    def test_objective_when_figure_is_money_text_reads_a_float(self) -> None:
        """Money figures (exact text in the report) rank as floats."""
        assert OBJECTIVES["net_pnl"].value({"net_pnl": "-3.13302676"}) == -3.13302676

    def test_objective_when_figure_undefined_gives_no_value(self) -> None:
        """An undefined figure (None, NaN) gives None."""
        assert OBJECTIVES["sharpe"].value({"sharpe": None}) is None
        assert OBJECTIVES["sharpe"].value({"sharpe": math.nan}) is None

    def test_rank_key_when_minimising_puts_smaller_first_and_none_last(self) -> None:
        """Drawdown ranks smaller first; a point without a value ranks last."""
        ranking = OBJECTIVES["max_drawdown"]
        keys = {"a": 5.0, "b": 1.0, "c": None}
        order = sorted(keys, key=lambda k: ranking.rank_key(keys[k], k))
        assert order == ["b", "a", "c"]


def _row(sweep_id: str, point: str, status: str, value: float | None) -> PointRow:
    return PointRow(
        sweep_id=sweep_id,
        point_id=point,
        params={"x": point},
        status=status,
        report_id=None if status == "failed" else f"bt-{point}",
        objective_value=value,
        error="ValueError: boom" if status == "failed" else None,
        run_seconds=1.0,
        prepare_seconds=0.0,
        point_seconds=1.1,
        worker="host:1",
        finished_at_wall=1.0,
    )


class TestStore:
    def test_list_sweeps_when_points_stored_ranks_best_first(self, tmp_path: Path) -> None:
        """Each sweep lists its best done points by its objective, failures left out."""
        db = tmp_path / "db.duckdb"
        spec = sweep_spec_from(BASE, _sweep({"seed": [1, 2]}))
        create_sweep(
            db,
            sweep_id="sw-1",
            method="grid",
            objective="net_pnl",
            total=4,
            spec_json=spec.as_json(),
        )
        for row in (
            _row("sw-1", "a", "done", 1.0),
            _row("sw-1", "b", "done", 3.0),
            _row("sw-1", "c", "failed", None),
            _row("sw-1", "d", "done", None),
        ):
            record_point(db, row)
        (overview,) = list_sweeps(db, best=3)
        assert [p.point_id for p in overview.best] == ["b", "a", "d"]
        assert (overview.done, overview.failed, overview.status) == (3, 1, "running")

    def test_record_point_when_point_stored_again_replaces_it(self, tmp_path: Path) -> None:
        """A retried point replaces its earlier row (one row per point)."""
        db = tmp_path / "db.duckdb"
        create_sweep(
            db, sweep_id="sw-1", method="grid", objective="net_pnl", total=1, spec_json="{}"
        )
        record_point(db, _row("sw-1", "a", "failed", None))
        record_point(db, _row("sw-1", "a", "done", 2.0))
        assert finished_points(db, "sw-1")["a"].status == "done"

    def test_list_sweeps_when_file_absent_is_empty(self, tmp_path: Path) -> None:
        """No database file: no sweeps, and the file is not created."""
        assert list_sweeps(tmp_path / "none.duckdb") == []
        assert not (tmp_path / "none.duckdb").exists()

    def test_load_sweep_when_id_unknown_raises_sweep_not_found(self, tmp_path: Path) -> None:
        """An unknown id raises SweepNotFound (a LookupError)."""
        db = tmp_path / "db.duckdb"
        create_sweep(
            db, sweep_id="sw-1", method="grid", objective="net_pnl", total=1, spec_json="{}"
        )
        with pytest.raises(SweepNotFound):
            load_sweep(db, "sw-2")


class TestTpe:
    def test_tpe_when_told_values_finds_the_better_region(self) -> None:
        """Ask-and-tell on a toy objective: later asks concentrate near its maximum."""
        space = ParameterSpace("tpe", (FloatRange("x", 0.0, 10.0),), samples=40, seed=1)
        source = TpeSource(space, OBJECTIVES["net_pnl"])
        asked = []
        while (point := source.ask()) is not None:
            x = float(point.params["x"])
            asked.append(x)
            source.tell(point, -((x - 7.0) ** 2))
        assert len(asked) == 40
        late = asked[-10:]
        assert sum(abs(x - 7.0) for x in late) / len(late) < 2.0

    def test_tpe_when_primed_with_finished_points_asks_only_the_rest(self) -> None:
        """A resumed search counts its finished points among its samples."""
        space = ParameterSpace("tpe", (IntRange("n", 1, 50),), samples=5, seed=2)
        source = TpeSource(
            space, OBJECTIVES["net_pnl"], {"p1": ({"n": 3}, 1.0), "p2": ({"n": 9}, None)}
        )
        assert source.primed == 2
        asked = 0
        while (point := source.ask()) is not None:
            asked += 1
            source.tell(point, 0.0)
        assert asked == 3


def test_public_names_when_listed_are_pinned() -> None:
    """The package's public face is exactly these names (a change is deliberate)."""
    import arbitrade.backtest.sweep as sweep

    assert sorted(name for name in dir(sweep) if not name.startswith("_")) == [
        "Choice",
        "ExecutorHandle",
        "ExecutorUnavailable",
        "FloatRange",
        "IntRange",
        "METHODS",
        "OBJECTIVES",
        "Objective",
        "ParameterSpace",
        "Point",
        "PointOutcome",
        "PointRow",
        "PointTask",
        "SweepError",
        "SweepNotFound",
        "SweepOverview",
        "SweepProgress",
        "SweepRecord",
        "SweepResult",
        "SweepSpec",
        "SweepStoreUnavailable",
        "default_workers",
        "list_sweeps",
        "load_sweep",
        "load_sweep_spec",
        "open_executor",
        "point_id",
        "run_point",
        "run_sweep",
        "start_sweep",
        "sweep_spec_from",
        "warm_up",
    ]
