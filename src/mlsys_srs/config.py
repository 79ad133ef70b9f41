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
    parameters = []               # FSRS weights; empty means py-fsrs defaults
    new_per_day = 20
    reviews_per_day = 0           # 0 means no limit
    rollover_hour = 4             # local hour at which a new day starts
    timezone = ""                 # IANA name; empty means the system's local zone
    leech_threshold = 8
    leech_action = "suspend"      # or "tag": tag leeches without suspending them
    bury_new_siblings = true
    bury_review_siblings = true
    new_order = "learning"        # or "interleave" (across domains) or "random" (shuffled per day)
    load_balance = true           # choose each review day by the load of the days (Anki's load balancer)
    easy_days = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]  # weekday loads, Monday first: 0.0 a minimum day
    breaks = []                   # periods without reviews, "FROM/TO" (written by `mlsys-srs break`)

    [plan]                        # a date to be ready by (written by `mlsys-srs plan`)
    by = ""                       # the date, YYYY-MM-DD; empty: no plan
    target = 0.95                 # predicted recall of every card of the selection on that date
    deck = ""                     # the selection: a deck recipe, domains, tags, note globs
    domains = []
    tags = []
    notes = []
    since = ""                    # when the plan was made

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

    [history]
    journal = true
    journal_dir = ".mlsys-srs/journal"
    backups_keep = 10

    [parse]
    osr_highlight_cloze = false   # ==text== is a cloze, as obsidian-spaced-repetition's setting

The settings that change a schedule (``[schedule]``, ``[plan]``) where the journal lives
(``[history]``) and the parser's switches (``[parse]``) may also be in the vault's own ``.mlsys-srs/config.toml``, where
they override this file's, so two devices replay one history alike. That file is shared with
other devices, which may run another version: a key (or a section) this version does not know
there is a warning, not an error (``Config.warnings``), so a setting added later never stops an
older version.

Every key is a ``Setting`` in ``SETTINGS``, the one registry of settings (name,
type, range, default, help) that loading checks every value against and that
docs/cli.md lists (a docs test compares them). An unknown key is an error that
suggests the closest known one; FSRS weights get their bounds check where the
scheduler is built (``memory.fsrs_parameters``), so ``due`` never imports fsrs.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from .core.settings import Setting as Setting
from .core.settings import checked_value as _value
from .core.settings import parse_day as parse_day
from .core.settings import parse_duration as parse_duration
from .core.settings import parse_period as parse_period
from .errors import ConfigError

APP_NAME = "mlsys-srs"
ENV_VAULT = "MLSYS_SRS_VAULT"
ENV_DB = "MLSYS_SRS_DB"
ENV_CONFIG = "MLSYS_SRS_CONFIG"


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
    new_order: str = "learning"
    load_balance: bool = True
    easy_days: tuple[float, ...] = (1.0,) * 7
    breaks: tuple[str, ...] = ()
    origin: str = field(default="", compare=False)
    """The config file these settings came from (for messages); not a setting."""


@dataclass(frozen=True)
class PlanConfig:
    """A date to be ready by (``[plan]``; written by ``mlsys-srs plan``, kept in the vault's config)."""

    by: str = ""
    target: float = 0.95
    deck: str = ""
    domains: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    since: str = ""

    @property
    def active(self) -> bool:
        """A plan is set (its date may have passed: then it no longer changes anything)."""
        return bool(self.by)


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
class CheckConfig:
    """Card-quality warnings of ``check`` (``[check]``; a vault's config may hold them)."""

    quality: bool = False
    max_answer_words: int = 40
    max_list_items: int = 3
    disabled: tuple[str, ...] = ()


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
    history: HistoryConfig = field(default_factory=lambda: HistoryConfig())
    parse: ParseConfig = field(default_factory=lambda: ParseConfig())
    check: CheckConfig = field(default_factory=lambda: CheckConfig())
    plan: PlanConfig = field(default_factory=lambda: PlanConfig())
    config_exists: bool = False
    vault_reason: str = "option"
    """How the vault was chosen: ``option``, ``environment``, ``config``, ``./notes`` or a marker found."""
    vault_id: str | None = None
    """The vault's id (``.mlsys-srs/vault.toml``); None before its first sync."""
    db_explicit: bool = True
    """The database was named (``--db``, ``MLSYS_SRS_DB``, ``db =``) rather than chosen by the vault id."""
    data_dir: Path = field(default_factory=lambda: default_data_dir())
    vault_config_path: Path | None = None
    warnings: tuple[str, ...] = ()
    """Problems that do not stop the command (keys of the vault's shared config this version
    does not know); each front end shows them once."""

    @property
    def journal_folder(self) -> Path:
        """Where this vault's journals are (``[history] journal_dir``, relative to the vault)."""
        return _expand(self.history.journal_dir, self.vault)


@dataclass(frozen=True)
class HistoryConfig:
    """Review journal and backup settings (``[history]``; the journal folder travels with the vault)."""

    journal: bool = True
    journal_dir: str = ".mlsys-srs/journal"
    backups_keep: int = 10


def default_data_dir() -> Path:
    """The user data folder (platformdirs): databases, backups, this device's id."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_cache_dir() -> Path:
    """The user cache folder (platformdirs): what can be rebuilt at any time, e.g. the export cache."""
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def default_config_path() -> Path:
    """The config file in the user config folder (platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def default_db_path() -> Path:
    """The database in the user data folder (platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "mlsys-srs.db"


def _check_timezone(name: str) -> str | None:
    if not name:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"{name!r} is not a known time zone (an IANA name such as 'Europe/Berlin')"
    return None


def _check_parameters(values: tuple[float, ...]) -> str | None:
    # Cheap checks here; py-fsrs's bounds where the scheduler is built (memory.fsrs_parameters).
    if values and len(values) not in FSRS_PARAMETER_COUNTS:
        return f"must be 17, 19 or 21 FSRS weights (or empty for the defaults), not {len(values)}"
    bad = [i for i, x in enumerate(values) if not math.isfinite(x)]
    if bad:
        return f"weight {bad[0]} is {values[bad[0]]}, not a finite number"
    return None


def _check_easy_days(values: tuple[float, ...]) -> str | None:
    if len(values) != 7:
        return f"must be 7 loads, Monday first, not {len(values)}"
    bad = [x for x in values if not 0.0 <= x <= 1.0]
    return f"has {bad[0]}: each load is 0.0 (a minimum day) to 1.0 (a normal day)" if bad else None


def _check_breaks(values: tuple[str, ...]) -> str | None:
    bad = [v for v in values if parse_period(v) is None]
    return f'has {bad[0]!r}: each break is "FROM/TO", two dates YYYY-MM-DD, FROM first' if bad else None


def _check_day(value: str) -> str | None:
    return None if not value or parse_day(value) is not None else f"{value!r} is not a date YYYY-MM-DD"


FSRS_PARAMETER_COUNTS = (17, 19, 21)
MAX_STEP_SECONDS = 365 * 86400

SETTINGS: list[Setting] = [
    Setting(
        "",
        "vault",
        "path",
        "./notes",
        "The notes folder (default: `./notes`, else the nearest folder at or above the current one "
        "holding `.obsidian/` or `.mlsys-srs/`).",
    ),
    Setting(
        "",
        "db",
        "path",
        "the vault's own, `<user data folder>/vaults/<vault id>.db`",
        "The review database file.",
    ),
    Setting(
        "",
        "ignore",
        "globs",
        (),
        'Globs of vault paths that are not notes, e.g. `["templates/**", "*.excalidraw.md"]`.',
    ),
    Setting(
        "schedule",
        "desired_retention",
        "float",
        0.9,
        "The recall probability FSRS schedules for, 0.5 to 0.99.",
        0.5,
        0.99,
    ),
    Setting(
        "schedule",
        "learning_steps",
        "durations",
        (timedelta(minutes=1), timedelta(minutes=10)),
        "Steps of a new card before it graduates to review (each 1s to 365d).",
        1,
        MAX_STEP_SECONDS,
    ),
    Setting(
        "schedule",
        "relearning_steps",
        "durations",
        (timedelta(minutes=10),),
        "Steps of a lapsed card before it returns to review (each 1s to 365d).",
        1,
        MAX_STEP_SECONDS,
    ),
    Setting(
        "schedule", "maximum_interval", "int", 36500, "Longest interval, in days (1 to 36500).", 1, 36500
    ),
    Setting(
        "schedule",
        "enable_fuzzing",
        "bool",
        True,
        "Spread review intervals slightly so cards learnt together do not stay together.",
    ),
    Setting(
        "schedule",
        "parameters",
        "floats",
        (),
        "Fitted FSRS weights (17, 19 or 21 numbers within py-fsrs's bounds); empty means the py-fsrs defaults.",
        check=_check_parameters,
    ),
    Setting(
        "schedule", "new_per_day", "int", 20, "New cards introduced per review day (0 to 100000).", 0, 100000
    ),
    Setting(
        "schedule",
        "reviews_per_day",
        "int",
        0,
        "Reviews per day; 0 means no limit (0 to 1000000).",
        0,
        1000000,
    ),
    Setting(
        "schedule", "rollover_hour", "int", 4, "Local hour (0-23) at which a new review day starts.", 0, 23
    ),
    Setting(
        "schedule",
        "timezone",
        "str",
        "",
        'IANA time zone name (`"Europe/Berlin"`); empty means the system\'s local zone.',
        check=_check_timezone,
    ),
    Setting(
        "schedule",
        "leech_threshold",
        "int",
        8,
        "Lapses after which a card is tagged `leech` and suspended (1 to 1000).",
        1,
        1000,
    ),
    Setting(
        "schedule",
        "leech_action",
        "str",
        "suspend",
        'What a leech gets: `"suspend"` (tagged `leech` and suspended) or `"tag"` (only tagged).',
        check=lambda v: None if v in ("suspend", "tag") else 'must be "suspend" or "tag"',
    ),
    Setting(
        "schedule",
        "bury_new_siblings",
        "bool",
        True,
        "Hold a new card back for the day when a sibling (same paragraph) is shown.",
    ),
    Setting(
        "schedule",
        "bury_review_siblings",
        "bool",
        True,
        "Hold a review card back for the day when a sibling (same paragraph) is shown.",
    ),
    Setting(
        "schedule",
        "new_order",
        "str",
        "learning",
        'The order of new cards: `"learning"` (numbered folders first to last, notes in the order '
        'their folder\'s index note links them, then by line), `"interleave"` (round robin across '
        'domains) or `"random"` (shuffled once per review day).',
        check=lambda v: (
            None
            if v in ("learning", "interleave", "random")
            else 'must be "learning", "interleave" or "random"'
        ),
    ),
    Setting(
        "schedule",
        "load_balance",
        "bool",
        True,
        "Choose each review day inside the fuzz range by how many cards are due on each day, and keep "
        "siblings apart (Anki's load balancer, intervals up to 90 days); off: the plain fuzz draw. "
        "Needs `enable_fuzzing`.",
    ),
    Setting(
        "schedule",
        "easy_days",
        "floats",
        (1.0,) * 7,
        "Seven weekday loads, Monday first, as Anki's easy days: 1.0 a normal day, 0.0 a minimum day "
        "(it receives a review card only when no other day of its range can), between: a reduced day. "
        "Applies with `load_balance`.",
        check=_check_easy_days,
    ),
    Setting(
        "schedule",
        "breaks",
        "globs",
        (),
        'Periods without reviews, `"FROM/TO"` (dates, both days included), kept by `mlsys-srs break`: '
        "no review card is scheduled in them while another day of its range is free.",
        check=_check_breaks,
    ),
    Setting(
        "plan",
        "by",
        "str",
        "",
        "The date to be ready by, `YYYY-MM-DD` (`mlsys-srs plan` writes the `[plan]` table); empty: no plan.",
        check=_check_day,
    ),
    Setting(
        "plan",
        "target",
        "float",
        0.95,
        "Each card of the selection is reviewed in time for its predicted recall on the date to be at "
        "least this (0.5 to 0.99).",
        0.5,
        0.99,
    ),
    Setting(
        "plan",
        "deck",
        "str",
        "",
        "The name of the deck recipe the plan was made from (its lists are copied into the three below).",
    ),
    Setting("plan", "domains", "globs", (), "The plan's cards (any of these three lists): these domains."),
    Setting("plan", "tags", "globs", (), "The plan's cards: these tags (nested ones included)."),
    Setting("plan", "notes", "globs", (), "The plan's cards: notes whose path matches these globs."),
    Setting("plan", "since", "str", "", "The day the plan was made, `YYYY-MM-DD`.", check=_check_day),
    Setting(
        "review",
        "prerequisite_refresh",
        "bool",
        True,
        "When you fail a card, bring forward due-soon cards of the notes it links to.",
    ),
    Setting(
        "review",
        "prerequisite_refresh_max",
        "int",
        5,
        "At most this many cards brought forward per session (0 to 1000).",
        0,
        1000,
    ),
    Setting(
        "review",
        "prerequisite_refresh_days",
        "int",
        3,
        "Only cards due within this many days are brought forward (0 to 3650).",
        0,
        3650,
    ),
    Setting(
        "review",
        "editor",
        "str",
        "",
        "Editor command for `e` in a review, or a template with `{path}` and `{line}` "
        '(`"code --wait --goto {path}:{line}"`); empty means `$VISUAL`, then `$EDITOR`, then `vi`.',
    ),
    Setting(
        "review",
        "learn_ahead_minutes",
        "int",
        20,
        "Show a learning card this early when nothing else is left (0 to 1440).",
        0,
        1440,
    ),
    Setting(
        "review",
        "max_answer_seconds",
        "int",
        60,
        "A longer answer time is logged as this long (1 to 3600).",
        1,
        3600,
    ),
    Setting(
        "stats",
        "keep_streak_on_empty_days",
        "bool",
        False,
        "A day with nothing due and nothing reviewed keeps the streak instead of breaking it.",
    ),
    Setting("export", "root_deck", "str", "MLSys", "Parent deck of the per-domain Anki decks."),
    Setting(
        "history",
        "journal",
        "bool",
        True,
        "Keep the review journal in the vault (off: history stays in this machine's database only, "
        "and `rebuild` has nothing to rebuild from).",
    ),
    Setting(
        "history",
        "journal_dir",
        "str",
        ".mlsys-srs/journal",
        "The journal folder, relative to the vault (e.g. for sync tools that skip dot-folders).",
    ),
    Setting("history", "backups_keep", "int", 10, "Database snapshots kept (1 to 1000).", 1, 1000),
    Setting(
        "parse",
        "osr_highlight_cloze",
        "bool",
        False,
        "`==text==` is a cloze deletion, as obsidian-spaced-repetition's own setting (off by default).",
    ),
    Setting(
        "check",
        "quality",
        "bool",
        False,
        "`check` also warns about cards that break the minimum-information rule (long answers, long "
        "lists, giveaways, trivial clozes, cloze pairs, yes/no questions); `check --quality` turns it on once.",
    ),
    Setting(
        "check",
        "max_answer_words",
        "int",
        40,
        "An answer with more words than this is too long to recall whole (5 to 1000).",
        5,
        1000,
    ),
    Setting(
        "check",
        "max_list_items",
        "int",
        3,
        "An answer listing more items than this should be split (1 to 100).",
        1,
        100,
    ),
    Setting(
        "check",
        "disabled",
        "globs",
        (),
        'Quality rules to skip: any of `"long-answer"`, `"long-list"`, `"giveaway"`, `"short-cloze"`, '
        '`"cloze-pair"`, `"yes-no"`.',
        check=lambda v: next(
            (
                f"has {r!r}: the rules are long-answer, long-list, giveaway, short-cloze, cloze-pair, yes-no"
                for r in v
                if r not in ("long-answer", "long-list", "giveaway", "short-cloze", "cloze-pair", "yes-no")
            ),
            None,
        ),
    ),
]
"""Every key of the config file; docs/cli.md lists them all (a test checks it)."""


def setting(name: str) -> Setting:
    """The registered setting called ``name`` (``schedule.new_per_day``)."""
    for s in SETTINGS:
        if s.name == name:
            return s
    raise KeyError(name)


def _unknown(path: Path, where: str, key: str, known: list[str]) -> ConfigError:
    from difflib import get_close_matches

    close = get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(sorted(known))})"
    return ConfigError(f"{path}: unknown setting {where}{key!r}{hint}")


def _validate(
    data: Mapping[str, Any], path: Path, warn: Callable[[str], None] | None = None
) -> dict[str, dict[str, Any]]:
    """Every value of the file, checked against the registry: ``{section: {key: value}}``.

    ``warn``: an unknown key is handed to it (and left out) instead of being an error (a vault's
    shared config, which a newer version may have written).
    """
    by_section: dict[str, dict[str, Setting]] = {}
    for s in SETTINGS:
        by_section.setdefault(s.section, {})[s.key] = s
    sections = [name for name in by_section if name]
    out: dict[str, dict[str, Any]] = {name: {} for name in by_section}

    def unknown(where: str, key: str, known: list[str]) -> None:
        exc = _unknown(path, where, key, known)
        if warn is None:
            raise exc
        warn(f"{exc}; ignored (a setting of a newer version of mlsys-srs?)")

    for key, raw in data.items():
        if key in sections:
            if not isinstance(raw, Mapping):
                raise ConfigError(f"{path}: [{key}] must be a table")
            for sub, sub_raw in raw.items():
                known = by_section[key]
                if sub not in known:
                    unknown(f"in [{key}]: ", sub, list(known))
                    continue
                out[key][sub] = _value(known[sub], sub_raw, path)
        elif key in by_section[""]:
            out[""][key] = _value(by_section[""][key], raw, path)
        else:
            unknown("", key, [*by_section[""], *sections])
    return out


def _inside(relative: str) -> bool:
    """A vault-relative path that stays in the vault (no root, no ``..``, no ``~`` or variables)."""
    from pathlib import PurePosixPath, PureWindowsPath

    if not relative or "~" in relative or "$" in relative or "\x00" in relative:
        return False
    for pure in (PurePosixPath(relative), PureWindowsPath(relative)):
        if pure.is_absolute() or pure.anchor or ".." in pure.parts:
            return False
    return True


VAULT_SECTIONS = ("schedule", "history", "parse", "check", "plan")
"""The sections a vault's shared ``config.toml`` may hold (they travel with the vault)."""


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
    if config_path.is_dir():
        raise ConfigError(f"{config_path}: is a folder; --config (or {ENV_CONFIG}) names a TOML file")
    if config_path.exists() and not config_path.is_file():
        raise ConfigError(
            f"{config_path}: not a regular file (a pipe?); --config (or {ENV_CONFIG}) names a TOML file"
        )
    exists = config_path.is_file()
    if exists:
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path}: invalid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config_path}: cannot read the config file ({exc})") from None
        except RecursionError:
            raise ConfigError(f"{config_path}: nested too deeply to be a config file") from None
    values = _validate(data, config_path)
    top = values[""]
    base = config_path.parent
    reason = "option"
    if vault is None:
        if env.get(ENV_VAULT):
            vault, reason = _expand(env[ENV_VAULT], here), "environment"
        elif "vault" in top:
            vault, reason = _expand(top["vault"], base), "config"
        else:
            from .vault.layout import discover

            found = discover(here)
            vault, reason = found.path, found.reason
    from .vault.layout import read_vault_config, read_vault_id, vault_db_path

    vault_id = read_vault_id(vault) if vault.is_dir() else None
    data_dir = default_data_dir()
    explicit = True
    if db is None:
        if env.get(ENV_DB):
            db = _expand(env[ENV_DB], here)
        elif "db" in top:
            db = _expand(top["db"], base)
        else:
            explicit = False
            db = vault_db_path(data_dir, vault_id or "unsynced")
    # Settings that change a schedule live in the vault; the machine's are defaults for new vaults.
    vault_cfg_path, vault_data = read_vault_config(vault) if vault.is_dir() else (None, {})
    origin = str(config_path)
    warnings: list[str] = []
    if vault_data:
        assert vault_cfg_path is not None
        shared: dict[str, Any] = {}
        for key, raw in vault_data.items():
            if key in VAULT_SECTIONS:
                shared[key] = raw
            else:
                # A newer version may keep more here: never fatal to this one.
                warnings.append(
                    f"{vault_cfg_path}: setting {key!r} is not one a vault's config holds ([schedule], "
                    "[plan], [history], [parse] and [check]); ignored"
                )
        own = _validate(shared, vault_cfg_path, warnings.append)
        journal_dir = own["history"].get("journal_dir")
        if journal_dir is not None and not _inside(journal_dir):
            # A shared file from whoever shares the vault must not send every device's journal elsewhere.
            raise ConfigError(
                f"{vault_cfg_path}: history.journal_dir must be a relative path inside the vault, not {journal_dir!r}"
            )
        for section in VAULT_SECTIONS:
            values[section] = {**values[section], **own[section]}
        if vault_data.get("schedule"):
            origin = str(vault_cfg_path)
    return Config(
        vault=vault,
        db=db,
        config_path=config_path,
        ignore=top.get("ignore", ()),
        schedule=replace(ScheduleConfig(), **values["schedule"], origin=origin),
        review=replace(ReviewConfig(), **values["review"]),
        stats=replace(StatsConfig(), **values["stats"]),
        export=replace(ExportConfig(), **values["export"]),
        history=replace(HistoryConfig(), **values["history"]),
        parse=replace(ParseConfig(), **values["parse"]),
        check=replace(CheckConfig(), **values["check"]),
        plan=replace(PlanConfig(), **values["plan"]),
        config_exists=exists,
        vault_reason=reason,
        vault_id=vault_id,
        db_explicit=explicit,
        data_dir=data_dir,
        vault_config_path=vault_cfg_path,
        warnings=tuple(warnings),
    )
