"""Configuration: the TOML file, environment variables and platform paths.

Precedence, highest first: command-line option, environment variable
(``MLSYS_SRS_VAULT``, ``MLSYS_SRS_DB``, ``MLSYS_SRS_CONFIG``), the config file,
built-in default. The config file lives in the user config folder
(``mlsys-srs info`` shows it) and looks like::

    vault = "~/notes"
    db = "~/.local/share/mlsys-srs/mlsys-srs.db"
    ignore = ["templates/**", "*.excalidraw.md"]

    [schedule]
    desired_retention = 0.9
    learning_steps = ["1m", "10m"]
    relearning_steps = ["10m"]
    maximum_interval = 36500      # days
    enable_fuzzing = true
    parameters = []               # FSRS weights (21, or FSRS-5's 19); empty means py-fsrs defaults
    new_per_day = 20
    reviews_per_day = 0           # 0 means no limit
    rollover_hour = 4             # local hour at which a new day starts
    timezone = ""                 # IANA name; empty means the system's local zone
    leech_threshold = 8
    leech_action = "suspend"      # or "tag": tag leeches without suspending them
    bury_new_siblings = true      # hold back a new card when a sibling is shown that day
    bury_review_siblings = true   # the same for review cards

    [review]
    prerequisite_refresh = true
    prerequisite_refresh_max = 5  # cards brought forward per session
    prerequisite_refresh_days = 3 # bring forward cards due within this many days
    editor = ""                   # default: $VISUAL, then $EDITOR, then vi
    learn_ahead_minutes = 20      # show a learning card early when nothing else is left
    max_answer_seconds = 60       # longer answers are logged as this long

    [stats]
    keep_streak_on_empty_days = false

    [export]
    root_deck = "MLSys"

    [parse]
    osr_highlight_cloze = false   # ==text== is a cloze, as obsidian-spaced-repetition's setting
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from .errors import ConfigError

APP_NAME = "mlsys-srs"
ENV_VAULT = "MLSYS_SRS_VAULT"
ENV_DB = "MLSYS_SRS_DB"
ENV_CONFIG = "MLSYS_SRS_CONFIG"

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")


def parse_duration(text: str | int | float) -> timedelta:
    """``"10m"`` -> 10 minutes; a bare number is minutes. Units: s, m, h, d."""
    if isinstance(text, (int, float)):
        return timedelta(minutes=float(text))
    m = _DURATION_RE.match(str(text))
    if not m:
        raise ConfigError(f"invalid duration {text!r}: use a number with s, m, h or d (e.g. '10m')")
    value, unit = float(m.group(1)), m.group(2)
    unit_name = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]
    return timedelta(**{unit_name: value})


@dataclass(frozen=True)
class ScheduleConfig:
    """Scheduler and daily-queue settings."""

    desired_retention: float = 0.9
    learning_steps: tuple[timedelta, ...] = (timedelta(minutes=1), timedelta(minutes=10))
    relearning_steps: tuple[timedelta, ...] = (timedelta(minutes=10),)
    maximum_interval: int = 36500
    enable_fuzzing: bool = True
    parameters: tuple[float, ...] = ()
    new_per_day: int = 20
    reviews_per_day: int = 0
    rollover_hour: int = 4
    timezone: str = ""
    leech_threshold: int = 8
    leech_action: str = "suspend"
    bury_new_siblings: bool = True
    bury_review_siblings: bool = True


@dataclass(frozen=True)
class ReviewConfig:
    """Review-screen settings."""

    prerequisite_refresh: bool = True
    prerequisite_refresh_max: int = 5
    prerequisite_refresh_days: int = 3
    editor: str = ""
    learn_ahead_minutes: int = 20
    max_answer_seconds: int = 60


@dataclass(frozen=True)
class StatsConfig:
    """Statistics settings."""

    keep_streak_on_empty_days: bool = False


@dataclass(frozen=True)
class ExportConfig:
    """Anki export settings."""

    root_deck: str = "MLSys"


@dataclass(frozen=True)
class HistoryConfig:
    """Review journal and backup settings (``[history]``; the journal folder travels with the vault)."""

    journal: bool = True
    journal_dir: str = ".mlsys-srs/journal"
    backups_keep: int = 10


@dataclass(frozen=True)
class ParseConfig:
    """Parser switches (``[parse]``; they change which cards a note makes, so a vault's config may hold them)."""

    osr_highlight_cloze: bool = False


@dataclass(frozen=True)
class Config:
    """The resolved configuration of one invocation."""

    vault: Path
    db: Path
    config_path: Path
    ignore: tuple[str, ...] = ()
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    stats: StatsConfig = field(default_factory=StatsConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    history: HistoryConfig = field(default_factory=HistoryConfig)
    parse: ParseConfig = field(default_factory=ParseConfig)
    config_exists: bool = False
    vault_reason: str = "option"
    """How the vault was chosen: ``option``, ``environment``, ``config``, ``./notes`` or a marker found."""
    vault_id: str | None = None
    """The vault's id (``.mlsys-srs/vault.toml``); None before its first sync."""
    db_explicit: bool = True
    """The database was named (``--db``, ``MLSYS_SRS_DB``, ``db =``) rather than chosen by the vault id."""
    data_dir: Path = field(default_factory=lambda: default_data_dir())
    vault_config_path: Path | None = None

    @property
    def journal_folder(self) -> Path:
        """Where this vault's journals are (``[history] journal_dir``, relative to the vault)."""
        return _expand(self.history.journal_dir, self.vault)


def default_data_dir() -> Path:
    """The user data folder (platformdirs): databases, backups, this device's id."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_config_path() -> Path:
    """The config file in the user config folder (platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def default_db_path() -> Path:
    """The database in the user data folder (platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "mlsys-srs.db"


def _section(data: Mapping[str, Any], name: str, path: Path) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: [{name}] must be a table")
    return value


def _typed(section: Mapping[str, Any], key: str, kind: type, path: Path, where: str) -> Any:
    value = section[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool):
        raise ConfigError(f"{path}: {where}{key} must be a whole number")
    if not isinstance(value, kind):
        raise ConfigError(f"{path}: {where}{key} must be a {kind.__name__}, not {value!r}")
    return value


def _schedule(data: Mapping[str, Any], path: Path) -> ScheduleConfig:
    s = _section(data, "schedule", path)
    cfg = ScheduleConfig()
    kw: dict[str, Any] = {}
    for key, kind in (
        ("desired_retention", float),
        ("maximum_interval", int),
        ("enable_fuzzing", bool),
        ("new_per_day", int),
        ("reviews_per_day", int),
        ("rollover_hour", int),
        ("timezone", str),
        ("leech_threshold", int),
        ("leech_action", str),
        ("bury_new_siblings", bool),
        ("bury_review_siblings", bool),
    ):
        if key in s:
            kw[key] = _typed(s, key, kind, path, "schedule.")
    for key in ("learning_steps", "relearning_steps"):
        if key in s:
            if not isinstance(s[key], list):
                raise ConfigError(f'{path}: schedule.{key} must be a list such as ["1m", "10m"]')
            kw[key] = tuple(parse_duration(x) for x in s[key])
    if "parameters" in s:
        params = s["parameters"]
        if not isinstance(params, list) or not all(isinstance(x, (int, float)) for x in params):
            raise ConfigError(f"{path}: schedule.parameters must be a list of numbers")
        if len(params) not in (0, 17, 19, 21):
            raise ConfigError(
                f"{path}: schedule.parameters must be 21 FSRS-6 weights (or FSRS-5's 19), not {len(params)}"
            )
        from .memory import full_parameters

        # FSRS-4.5/5 sets become FSRS-6 sets as Anki converts them (see memory.full_parameters).
        kw["parameters"] = full_parameters(params)
    cfg = replace(cfg, **kw)
    if cfg.leech_action not in ("suspend", "tag"):
        raise ConfigError(f'{path}: schedule.leech_action must be "suspend" or "tag"')
    if not 0.5 <= cfg.desired_retention < 1.0:
        raise ConfigError(f"{path}: schedule.desired_retention must be between 0.5 and 0.99")
    if not 0 <= cfg.rollover_hour <= 23:
        raise ConfigError(f"{path}: schedule.rollover_hour must be 0-23")
    if cfg.timezone:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(cfg.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"{path}: schedule.timezone {cfg.timezone!r} is not a known time zone"
            ) from None
    return cfg


def _simple(data: Mapping[str, Any], name: str, cls: type[Any], path: Path) -> Any:
    section = _section(data, name, path)
    defaults = cls()
    kw = {}
    for key in section:
        if not hasattr(defaults, key):
            raise ConfigError(f"{path}: unknown setting {name}.{key}")
        kind = type(getattr(defaults, key))
        kw[key] = _typed(section, key, kind, path, f"{name}.")
    return replace(defaults, **kw)


def _expand(value: str, base: Path) -> Path:
    p = Path(os.path.expandvars(os.path.expanduser(value)))
    return p if p.is_absolute() else (base / p)


def load_config(
    *,
    vault: Path | None = None,
    db: Path | None = None,
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Config:
    """Resolve the configuration from options, environment, file and defaults.

    Raises:
        ConfigError: the config file is not valid TOML or has a wrong setting.
    """
    env = os.environ if environ is None else environ
    here = cwd or Path.cwd()
    if config_path is None:
        config_path = Path(env[ENV_CONFIG]) if env.get(ENV_CONFIG) else default_config_path()
    data: dict[str, Any] = {}
    exists = config_path.is_file()
    if exists:
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path}: invalid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config_path}: cannot read the config file ({exc})") from None
    known = {"vault", "db", "ignore", "schedule", "review", "stats", "export", "history", "parse"}
    for key in data:
        if key not in known:
            raise ConfigError(f"{config_path}: unknown setting {key!r}")
    base = config_path.parent
    reason = "option"
    if vault is None:
        if env.get(ENV_VAULT):
            vault, reason = _expand(env[ENV_VAULT], here), "environment"
        elif "vault" in data:
            if not isinstance(data["vault"], str):
                raise ConfigError(f"{config_path}: vault must be a path (a string), not {data['vault']!r}")
            vault, reason = _expand(data["vault"], base), "config"
        else:
            from .vault import discover

            found = discover(here)
            vault, reason = found.path, found.reason
    from .vault import read_vault_config, read_vault_id, vault_db_path

    vault_id = read_vault_id(vault) if vault.is_dir() else None
    data_dir = default_data_dir()
    explicit = True
    if db is None:
        if env.get(ENV_DB):
            db = _expand(env[ENV_DB], here)
        elif "db" in data:
            if not isinstance(data["db"], str):
                raise ConfigError(f"{config_path}: db must be a path (a string), not {data['db']!r}")
            db = _expand(data["db"], base)
        else:
            explicit = False
            db = vault_db_path(data_dir, vault_id or "unsynced")
    # Settings that change a schedule live in the vault; the machine's are defaults for new vaults.
    vault_cfg_path, vault_data = read_vault_config(vault) if vault.is_dir() else (None, {})
    for key in vault_data:
        if key not in ("schedule", "history", "parse"):
            raise ConfigError(
                f"{vault_cfg_path}: unknown setting {key!r} (a vault's config holds [schedule], [history] and [parse])"
            )
    merged = dict(data)
    for section in ("schedule", "history", "parse"):
        if section in vault_data:
            assert vault_cfg_path is not None
            _section(vault_data, section, vault_cfg_path)
            merged[section] = {**_section(data, section, config_path), **vault_data[section]}
    ignore = data.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(g, str) for g in ignore):
        raise ConfigError(f"{config_path}: ignore must be a list of glob strings")
    return Config(
        vault=vault,
        db=db,
        config_path=config_path,
        ignore=tuple(ignore),
        schedule=_schedule(
            merged, vault_cfg_path if "schedule" in vault_data and vault_cfg_path else config_path
        ),
        review=_simple(data, "review", ReviewConfig, config_path),
        stats=_simple(data, "stats", StatsConfig, config_path),
        export=_simple(data, "export", ExportConfig, config_path),
        history=_simple(
            merged,
            "history",
            HistoryConfig,
            vault_cfg_path if "history" in vault_data and vault_cfg_path else config_path,
        ),
        parse=_simple(
            merged,
            "parse",
            ParseConfig,
            vault_cfg_path if "parse" in vault_data and vault_cfg_path else config_path,
        ),
        config_exists=exists,
        vault_reason=reason,
        vault_id=vault_id,
        db_explicit=explicit,
        data_dir=data_dir,
        vault_config_path=vault_cfg_path,
    )
