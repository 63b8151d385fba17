"""Experiment trackers: a run's id, resolved config and per-round metrics, where users already look.

A tracker is opened by the run's process for one run and sees every round the
run records (the checkpoint line's dict), then its end.  Two are built in:

* ``tensorboard`` (``altbench run --tensorboard DIR``): scalars under ``DIR/<run id>``,
  step = labelled-set size;
* ``mlflow`` (``altbench run --mlflow URI``): one MLflow run per altbench run, in the
  MLflow experiment named after the altbench experiment, with the run id and grid cell as
  tags, the resolved config as flat params plus ``config.json``, and per-round metrics
  (step = labelled-set size).  A local ``file:`` store works without a server.

Trackers are optional and never change results; they register in :data:`TRACKERS`
(a factory ``(target, cfg, experiment) -> Tracker``), so a new one is one class.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Protocol

from altbench.registry import Registry

if TYPE_CHECKING:
    from altbench.config import RunConfig

TRACKERS = Registry("trackers", plugins=False)  # name → factory(target, cfg, experiment) -> Tracker
NOT_METRICS = ("round", "n_labelled")  # numbers in a round record that are coordinates, not metrics


class Tracker(Protocol):
    """What a run's process calls: each new round's record, then the end (``"FINISHED"`` / ``"FAILED"``)."""

    def log_round(self, rec: dict) -> None: ...

    def close(self, status: str) -> None: ...


def round_metrics(rec: dict) -> dict[str, float]:
    """The finite numbers of a round record (accuracy, macro_f1, fit/query seconds, train loss)."""
    return {k: float(v) for k, v in rec.items()
            if k not in NOT_METRICS and isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v)}


def flat_params(d: dict, prefix: str = "") -> dict[str, str]:
    """``{"budget": {"total": 200}}`` → ``{"budget.total": "200"}`` (lists as JSON)."""
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flat_params(v, key + "."))
        else:
            out[key] = json.dumps(v, sort_keys=True, default=str) if isinstance(v, (list, tuple, dict)) else str(v)
    return out


@TRACKERS.register(name="tensorboard")
class TensorBoard:
    """Scalars per round in ``target/<run id>`` (TensorBoard's ``SummaryWriter``)."""

    def __init__(self, target: str, cfg: RunConfig, experiment: str):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(Path(target) / cfg.run_id),
                                    comment=f"{cfg.dataset.key()}/{cfg.method.key()}/{cfg.strategy.key()}/{cfg.seed}")

    def log_round(self, rec: dict) -> None:
        for key, value in round_metrics(rec).items():
            self.writer.add_scalar(key, value, rec["n_labelled"])

    def close(self, status: str) -> None:
        self.writer.close()


@TRACKERS.register(name="mlflow")
class MLflow:
    """One MLflow run per altbench run, through ``MlflowClient`` (no global active run)."""

    def __init__(self, target: str, cfg: RunConfig, experiment: str):
        self.client = _mlflow_client(target)
        self.run_id = self.client.create_run(_experiment_id(self.client, experiment), run_name=cfg.run_id,
                                             tags=run_tags(cfg)).info.run_id
        self._log_config(cfg.to_dict())

    def _log_config(self, config: dict) -> None:
        from mlflow.entities import Param

        params = [Param(k, v[:6000]) for k, v in flat_params(config).items()]  # 6000: MLflow's value limit
        for i in range(0, len(params), 100):  # at most 100 params per batch
            self.client.log_batch(self.run_id, params=params[i:i + 100])
        self.client.log_dict(self.run_id, config, "config.json")

    def log_round(self, rec: dict) -> None:
        from mlflow.entities import Metric

        now, step = int(time.time() * 1000), int(rec["n_labelled"])
        metrics = [Metric(k, v, now, step) for k, v in round_metrics(rec).items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def close(self, status: str) -> None:
        self.client.set_terminated(self.run_id, status)


def run_tags(cfg: RunConfig) -> dict[str, str]:
    """The altbench run id and grid cell, as MLflow tags (searchable: ``tags."altbench.seed" = '0'``)."""
    return {"altbench.run_id": cfg.run_id, "altbench.dataset": cfg.dataset.key(), "altbench.method": cfg.method.key(),
            "altbench.strategy": cfg.strategy.key(), "altbench.seed": str(cfg.seed)}


def _mlflow_client(target: str):
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise ImportError("--mlflow needs MLflow: pip install 'altbench[mlflow]' (or mlflow-skinny)") from None
    if target.startswith("file:") or "://" not in target:  # a local file store
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow >= 3.7 refuses one otherwise
    return MlflowClient(tracking_uri=target)


def _experiment_id(client, name: str) -> str:
    """The MLflow experiment ``name``, created if needed (or read back when a parallel run just created it)."""
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:  # noqa: BLE001 - "already exists": another run's process won the race
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id


@contextlib.contextmanager
def tracked(targets: tuple[tuple[str, str], ...], cfg: RunConfig, experiment: str) -> Iterator[Callable[[dict], None]]:
    """``with tracked((("mlflow", uri),), cfg, name) as log_round:``; closes each tracker with the run's outcome."""
    trackers = [TRACKERS.get(name)(target, cfg, experiment) for name, target in targets]

    def log_round(rec: dict) -> None:
        for t in trackers:
            t.log_round(rec)

    status = "FAILED"  # also when the run raised; a run whose process is killed stays RUNNING
    try:
        yield log_round
        status = "FINISHED"
    finally:
        for t in trackers:
            t.close(status)


def check_trackers(targets: tuple[tuple[str, str], ...]) -> None:
    """Fail before any run starts when a tracker's library is missing (a one-line ValueError)."""
    import importlib.util

    needs = {"mlflow": ("mlflow", "pip install 'altbench[mlflow]'"),
             "tensorboard": ("tensorboard", "pip install 'altbench[tensorboard]'")}
    for name, _ in targets:
        module, fix = needs.get(name, (None, ""))
        if module is not None and importlib.util.find_spec(module) is None:
            raise ValueError(f"--{name} needs the {module} package, which is not installed; run: {fix}")
