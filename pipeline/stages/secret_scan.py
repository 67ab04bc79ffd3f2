"""detect-secrets over a tree, with exactly its findings, several times faster.

detect-secrets runs each of its 27 plugins on every line of every file, through its
dependency injection (`_process_line_based_plugins` -> `_scan_line` ->
`call_function_with_arguments`): some 60 microseconds a line, minutes for a repository of
two million lines, of which about one in 500 can yield anything. That is cheap to know: a
plugin only reports what one of its own regexes matches in the line. So, per file:

1. the lines are the ones detect-secrets itself scans: its own `_get_lines_from_file`,
   which runs its transformers (a YAML or INI file becomes `key: "value"` lines, quotes
   added; a file with no section header gets a second, eager, pass the same way), so
   nothing is ever judged on a file's raw text when detect-secrets does not scan that;
2. a line is a candidate when one plugin's regex matches it (`Prefilter`), the very string
   the plugin would get (`line.rstrip()`): the `denylist` of a regex detector, the keyword
   detector's regexes for the file's type (picked as it picks them), and for a high-entropy
   plugin its quoted-string regex restricted to values that can pass its entropy limit (n
   characters of k kinds have an entropy of at most log2(min(n, k))), then its own entropy
   check on what its own regex finds;
3. candidate lines go through detect-secrets' loop as they would have (`_scan_lines`: its
   `_process_line_based_plugins` with the other lines skipped; filters, code-snippet
   context and the eager second pass unchanged). Skipping a line where no plugin finds
   anything changes nothing: filters only ever remove findings.

Telling candidates fast, exactly (each shortcut only ever keeps more lines):
- a regex is tried only on lines holding what it cannot match without (its `_Gate`: the
  strings read off its parse tree, `_clauses`), found once per file in the whole text;
- a case-insensitive regex is tried only where a match can start (`_anchors`), found in
  text case-folded the way re.IGNORECASE folds (`_fold`), far faster than re's `search`;
- a regex that cannot match a line break nor look around (`_line_local`) and that re can
  find fast is searched in the whole text at once.

A plugin the prefilter does not know, or another version of detect-secrets than the one
whose loop `_scan_file` and `_scan_lines` mirror, switches it off: files are then scanned
by detect-secrets' own `scan_file`. Large trees are scanned by a pool of processes, the
findings merged in the files' order, as one process would have.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
import multiprocessing
import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from re import _constants as sre
from re import _parser as sre_parse
from typing import Any

from detect_secrets import SecretsCollection
from detect_secrets.__version__ import VERSION as DETECT_SECRETS_VERSION
from detect_secrets.core import scan as ds_scan
from detect_secrets.core.potential_secret import PotentialSecret
from detect_secrets.plugins import keyword
from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector
from detect_secrets.plugins.high_entropy_strings import HexHighEntropyString, HighEntropyStringsPlugin
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.settings import Settings, default_settings, get_plugins
from detect_secrets.util.code_snippet import get_code_snippet
from detect_secrets.util.filetype import FileType, determine_file_type
from detect_secrets.util.path import convert_local_os_path

log = logging.getLogger(__name__)

# detect-secrets keeps its settings (plugins, filters) in one global, which its
# `default_settings()` swaps in and back out: two threads scanning at once (a batch runs
# repositories in threads) swap each other's settings away mid-scan, and a scan then finds
# nothing (measured: 4 of 600 concurrent scans of a file with a digest in it). Every use in
# the pipeline goes through `detect_secrets_defaults()`, one at a time.
_SETTINGS_LOCK = threading.RLock()


@contextmanager
def detect_secrets_defaults() -> Iterator[Settings]:
    """detect-secrets' default settings, held by this thread alone until the block ends."""
    with _SETTINGS_LOCK, default_settings() as settings:
        yield settings


# `_scan_file` and `_scan_lines` mirror detect-secrets' scan loop of this version.
MIRRORED_VERSION = "1.5.0"
# A tree this large is scanned by a pool of processes (below it, starting one costs more).
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
MAX_WORKERS = 4
# Files are handed to the pool in chunks of about this many bytes (or this many files).
CHUNK_BYTES = 2 * 1024 * 1024
CHUNK_FILES = 512


# --------------------------------------------------------------------------- gates


def _clauses(items: Sequence[tuple[Any, Any]]) -> list[frozenset[str]]:
    """Sets of strings such that every match of a parsed regex holds one string of each.

    Conservative by construction: only plain literals, groups without flags, repeats of at
    least one, alternations (each branch must require something) and small sets of
    literal characters require anything; anything else (anchors, lookarounds, classes,
    back-references) requires nothing and breaks a run of literals."""
    clauses: list[frozenset[str]] = []
    run: list[str] = []
    for op, av in items:
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        if run:
            clauses.append(frozenset({"".join(run)}))
            run = []
        if op is sre.SUBPATTERN and not av[1] and not av[2]:
            clauses += _clauses(av[3])
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and av[0] >= 1:
            clauses += _clauses(av[2])
        elif op is sre.ATOMIC_GROUP:
            clauses += _clauses(av)
        elif op is sre.BRANCH:
            # One string of each branch's best set: the match holds one of them.
            branches = [_best(_clauses(branch)) for branch in av[1]]
            if all(branches):
                clauses.append(frozenset().union(*branches))
        elif op is sre.IN and len(av) <= 8 and all(kind is sre.LITERAL for kind, _ in av):
            clauses.append(frozenset(chr(value) for _, value in av))
    if run:
        clauses.append(frozenset({"".join(run)}))
    return clauses


def _selectivity(words: frozenset[str]) -> tuple[int, int]:
    """Longer shortest strings first, then fewer strings."""
    return min(map(len, words)), -len(words)


def _best(clauses: list[frozenset[str]]) -> frozenset[str] | None:
    return max(clauses, key=_selectivity, default=None)


def _starts(items: Sequence[tuple[Any, Any]]) -> tuple[frozenset[str], bool] | None:
    """(strings, empty): every match of a parsed regex starts with one of the strings, or
    (when `empty`) is empty. None: not known. Zero-width assertions are passed over."""
    heads: frozenset[str] = frozenset()
    for index, (op, av) in enumerate(items):
        if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue
        if op is sre.LITERAL:
            run = itertools.takewhile(lambda item: item[0] is sre.LITERAL, items[index:])
            return heads | {"".join(chr(value) for _, value in run)}, False
        found: tuple[frozenset[str], bool] | None = None
        if op is sre.SUBPATTERN and not av[1] and not av[2]:
            if av[3].getwidth()[1] == 0:
                continue
            found = _starts(av[3])
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            inner = _starts(av[2])
            found = None if inner is None else (inner[0], inner[1] or av[0] == 0)
        elif op is sre.BRANCH:
            branches = [_starts(branch) for branch in av[1]]
            if all(b is not None for b in branches):
                found = frozenset().union(*(b[0] for b in branches)), any(b[1] for b in branches)
        elif op is sre.IN and len(av) <= 8 and all(kind is sre.LITERAL for kind, _ in av):
            found = frozenset(chr(value) for _, value in av), False
        if found is None:
            return None
        heads |= found[0]
        if not found[1]:
            return heads, False
    return heads, True


def _anchors(items: Sequence[tuple[Any, Any]]) -> frozenset[str] | None:
    """Strings one of which every match of a parsed regex starts with (None: not known)."""
    starts = _starts(items)
    return starts[0] if starts is not None and not starts[1] and all(starts[0]) else None


def _newline_free(kind: Any, value: Any) -> bool:
    """Whether a member of a character set cannot match a line break."""
    if kind is sre.LITERAL:
        return value != ord("\n")
    if kind is sre.RANGE:
        return not value[0] <= ord("\n") <= value[1]
    return kind is sre.CATEGORY and value in (sre.CATEGORY_DIGIT, sre.CATEGORY_WORD)


def _line_local(items: Sequence[tuple[Any, Any]], flags: int) -> bool:
    """Whether no match of a parsed regex holds a line break, nor depends on what is
    around it (no anchors, lookarounds or atomic groups): then each of its matches in a
    line is one in the lines joined by line breaks too, and each one there lies within a
    line (a match overlapping another is on the same line)."""
    for op, av in items:
        if op is sre.LITERAL:
            ok = av != ord("\n")
        elif op is sre.ANY:
            ok = not flags & re.DOTALL
        elif op is sre.IN:
            ok = all(_newline_free(kind, value) for kind, value in av)
        elif op is sre.SUBPATTERN:
            ok = _line_local(av[3], (flags | av[1]) & ~av[2])
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            ok = _line_local(av[2], flags)
        elif op is sre.BRANCH:
            ok = all(_line_local(branch, flags) for branch in av[1])
        else:
            # A back-reference repeats a group, checked here like the rest; anything else
            # (an anchor, a lookaround, an atomic group) may depend on what is around.
            ok = op is sre.GROUPREF
        if not ok:
            return False
    return True


@lru_cache(maxsize=1)
def _case_fold() -> dict[int, str]:
    """A `str.translate` table sending every character that re.IGNORECASE matches with an
    ASCII character to that character in lower case (A-Z, and the few others re folds the
    same way: the Kelvin sign, the long s, dotted and dotless i). Read off `re` itself."""
    every = "".join(map(chr, range(0x110000)))
    table: dict[int, str] = {}
    for char in set(re.findall(r"[\x00-\x7f]", every, re.IGNORECASE)):
        twins = {p.lower() for p in map(chr, range(128)) if re.fullmatch(re.escape(p), char, re.IGNORECASE)}
        if len(twins) != 1:
            raise RuntimeError(f"re folds {char!r} with {sorted(twins)}")
        twin = twins.pop()
        if twin != char:
            table[ord(char)] = twin
    return table


@lru_cache(maxsize=1)
def _lower_fixes() -> list[tuple[str, str]]:
    """(what str.lower() makes of a character, what `_case_fold` makes of it) where the two
    differ and lower() keeps one character (the long s, the dotless i)."""
    return [(low, f) for c, f in _case_fold().items() if len(low := chr(c).lower()) == 1 and low != f]


def _fold(text: str) -> str:
    """`text` with each character that re.IGNORECASE matches with an ASCII one replaced by
    that one in lower case, position for position (other characters may change too)."""
    if text.isascii():
        return text.lower()
    lowered = text.lower()
    if len(lowered) != len(text):  # a character lowered into two: fold one by one
        return text.translate(_case_fold())
    for was, folded in _lower_fixes():
        lowered = lowered.replace(was, folded)
    return lowered


def _either(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


class _Words:
    """A set of strings a regex cannot match without one of (`flags`: the regex's)."""

    def __init__(self, words: frozenset[str], flags: int) -> None:
        flags &= re.IGNORECASE | re.ASCII
        self.exact = re.compile(_either(words), flags)
        # Rest of the line after the first string: one match per line at most.
        self.per_line = re.compile(rf"(?:{_either(words)})[^\n]*", flags)
        # Case-insensitive strings are looked for, case-sensitively, in folded text (far
        # faster): the ASCII part of each string, folded, is what every match holds.
        self.folded = self.folded_per_line = None
        if flags == re.IGNORECASE:
            parts = {max(re.findall(r"[\x00-\x7f]+", w), key=len, default="").lower() for w in words}
            if all(parts):
                self.folded = re.compile(_either(parts))
                self.folded_per_line = re.compile(rf"(?:{_either(parts)})[^\n]*")


class _Gate:
    """What a regex cannot match without: a string of each of `clauses` (most selective
    first). No string holds a line break, so the lines holding them are found in the
    whole text at once."""

    def __init__(self, clauses: list[_Words]) -> None:
        self.clauses = clauses


class _Text:
    """One file's lines, with the lines holding each gate's strings (found once)."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = lines
        self.text = "\n".join(lines)
        self.starts = [0, *itertools.accumulate(len(line) + 1 for line in lines)]
        self._folded: str | None = None
        self._holding: dict[_Words, set[int]] = {}
        self._passing: dict[_Gate, set[int]] = {}

    def folded(self) -> str:
        if self._folded is None:
            self._folded = _fold(self.text)
        return self._folded

    def holding(self, words: _Words) -> set[int]:
        """Indexes of the lines holding one of `words`."""
        if words not in self._holding:
            if words.folded_per_line is not None:
                matches = words.folded_per_line.finditer(self.folded())
            else:
                matches = words.per_line.finditer(self.text)
            self._holding[words] = {bisect.bisect_right(self.starts, m.start()) - 1 for m in matches}
        return self._holding[words]

    def matching(self, regex: re.Pattern[str]) -> set[int]:
        """Indexes of the lines a line-local regex (see `_line_local`) matches."""
        return {bisect.bisect_right(self.starts, m.start()) - 1 for m in regex.finditer(self.text)}

    def holds(self, index: int, words: _Words) -> bool:
        """Whether line `index` holds one of `words`."""
        start, end = self.starts[index], self.starts[index + 1] - 1
        if words.folded is not None:
            return words.folded.search(self.folded(), start, end) is not None
        return words.exact.search(self.text, start, end) is not None

    def passing(self, gate: _Gate) -> set[int]:
        """Indexes of the lines holding a string of each of the gate's clauses."""
        if gate not in self._passing:
            first, *rest = gate.clauses
            found = self.holding(first)
            if rest:
                found = {i for i in found if all(self.holds(i, words) for words in rest)}
            self._passing[gate] = found
        return self._passing[gate]

    def matches(self, index: int, line: str, probe: _Probe) -> bool:
        """Whether the probe's regex matches `line` (line `index`, stripped): tried only
        where one of its anchors starts, when it has some (far faster than `search` for a
        case-insensitive regex, which re tries at every position)."""
        if probe.anchors is None:
            return probe.regex.search(line) is not None
        start = self.starts[index]
        spots = probe.anchors.finditer(self.folded(), start, start + len(line))
        return any(probe.regex.match(line, spot.start() - start) for spot in spots)


@dataclass(frozen=True)
class _Probe:
    """Lines where a plugin may find something: `regex` matches them and `check` (when
    set) accepts them; only lines holding a string of each of `gate`'s clauses are tried.
    `anchors` (for a case-insensitive regex) finds, in folded text, where a match can start."""

    regex: re.Pattern[str]
    gate: _Gate | None
    anchors: re.Pattern[str] | None = None
    check: Any = field(default=None, compare=False)
    # Line-local (see `_line_local`): searched in the whole text at once, with no gate.
    local: bool = False


# --------------------------------------------------------------------------- prefilter


class Prefilter:
    """Which lines of a file any of detect-secrets' plugins can yield a finding on."""

    def __init__(self, plugins: Sequence[BasePlugin]) -> None:
        self._words: dict[tuple[frozenset[str], int], _Words] = {}
        self._gates: dict[tuple[int, ...], _Gate] = {}
        self._common: list[_Probe] = []
        self._keyword = False
        self._by_type: dict[FileType, list[_Probe]] = {}
        for plugin in plugins:
            if type(plugin) is keyword.KeywordDetector:
                self._keyword = True
                continue
            probes = self._plugin_probes(plugin)
            if probes is None:
                raise ValueError(f"no prefilter for detect-secrets plugin {type(plugin).__name__}")
            self._common += probes

    @classmethod
    def for_plugins(cls, plugins: Sequence[BasePlugin]) -> Prefilter | None:
        """The prefilter, or None where it cannot be exact (every line is then scanned)."""
        if DETECT_SECRETS_VERSION != MIRRORED_VERSION:
            log.warning("detect-secrets %s, not %s: scanning every line", DETECT_SECRETS_VERSION, MIRRORED_VERSION)
            return None
        try:
            return cls(plugins)
        except ValueError as exc:
            log.warning("%s: scanning every line", exc)
            return None

    def _probe(self, regex: re.Pattern[str], check: Any = None) -> _Probe:
        try:
            parsed = sre_parse.parse(regex.pattern, regex.flags)
        except re.error:
            return _Probe(regex, None, None, check)
        starts = _anchors(parsed)
        if starts and not regex.flags & re.IGNORECASE and _line_local(parsed, regex.flags):
            # re finds where such a regex can start fast (a case-sensitive first string or
            # character): one search of the whole text beats one per line.
            return _Probe(regex, None, None, check, local=True)
        clauses = sorted({c for c in _clauses(parsed) if not any("\n" in w for w in c)}, key=_selectivity, reverse=True)
        gate = None
        if clauses:
            words = [self._words.setdefault((c, regex.flags), _Words(c, regex.flags)) for c in clauses]
            gate = self._gates.setdefault(tuple(map(id, words)), _Gate(words))
        anchors = None
        if starts and regex.flags & (re.IGNORECASE | re.ASCII) == re.IGNORECASE:
            # Folded: the ASCII start of each string, in lower case (see _Words).
            heads = {re.match(r"[\x00-\x7f]*", w).group().lower() for w in starts}
            if all(heads):
                anchors = re.compile(f"(?=(?:{_either(heads)}))")
        return _Probe(regex, gate, anchors, check)

    def _plugin_probes(self, plugin: BasePlugin) -> list[_Probe] | None:
        kind = type(plugin)
        if (
            isinstance(plugin, RegexBasedDetector)
            and kind.analyze_line is BasePlugin.analyze_line
            # JWT's only drops what is not a well-formed token.
            and kind.analyze_string in (RegexBasedDetector.analyze_string, JwtTokenDetector.analyze_string)
        ):
            return [self._probe(regex) for regex in plugin.denylist]
        if (
            isinstance(plugin, HighEntropyStringsPlugin)
            and kind.analyze_line is HighEntropyStringsPlugin.analyze_line
            and kind.analyze_string is HighEntropyStringsPlugin.analyze_string
            # Hex's only lowers the entropy of all-digit strings.
            and kind.calculate_shannon_entropy
            in (HighEntropyStringsPlugin.calculate_shannon_entropy, HexHighEntropyString.calculate_shannon_entropy)
            and plugin.regex.pattern == rf"""([\'"])([{re.escape(plugin.charset)}]+)(\1)"""
            and len(set(plugin.charset)) == len(plugin.charset)
        ):
            # A value passes when its entropy exceeds the limit; n characters (of k kinds)
            # have an entropy of at most log2(min(n, k)). The margin covers rounding.
            kinds = len(plugin.charset)
            shortest = next((n for n in range(1, kinds + 1) if math.log2(n) > plugin.entropy_limit - 1e-6), None)
            if shortest is None:
                return []
            quoted = re.compile(rf"([\'\"])[{re.escape(plugin.charset)}]{{{shortest},}}\1")

            def passes(line: str, plugin: HighEntropyStringsPlugin = plugin, shortest: int = shortest) -> bool:
                # What analyze_line keeps; fewer than `shortest` kinds cannot pass either.
                return any(
                    len(set(v)) >= shortest and plugin.calculate_shannon_entropy(v) > plugin.entropy_limit
                    for v in plugin.analyze_string(line)
                )

            return [self._probe(quoted, check=passes)]
        return None

    def _probes(self, filename: str) -> list[_Probe]:
        filetype = determine_file_type(filename)
        if filetype not in self._by_type:
            probes = list(self._common)
            if self._keyword:
                # The regexes KeywordDetector.analyze_line picks for this file's type.
                chosen = keyword.REGEX_BY_FILETYPE.get(filetype, keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
                probes += [self._probe(regex) for regex in chosen]
            self._by_type[filetype] = probes
        return self._by_type[filetype]

    def candidates(self, lines: Sequence[str], filename: str) -> set[int]:
        """Indexes of the lines (as detect-secrets reads them) a plugin may yield on."""
        text = _Text(lines)
        found: set[int] = set()
        for probe in self._probes(filename):
            if probe.local:
                for index in text.matching(probe.regex) - found:
                    if probe.check is None or probe.check(lines[index].rstrip()):
                        found.add(index)
                continue
            indexes = range(len(lines)) if probe.gate is None else text.passing(probe.gate)
            for index in indexes:
                if index in found:
                    continue
                line = lines[index].rstrip()
                if text.matches(index, line, probe) and (probe.check is None or probe.check(line)):
                    found.add(index)
        return found


# --------------------------------------------------------------------------- scanning


def _scan_lines(lines: list[str], filename: str, prefilter: Prefilter) -> Iterator[PotentialSecret]:
    """detect_secrets.core.scan._process_line_based_plugins over `lines` (numbered from 1),
    the lines no plugin can match skipped."""
    wanted = prefilter.candidates(lines, filename)
    line_content = lines
    for index, line in enumerate(lines):
        if index not in wanted:
            continue
        line_number = index + 1
        line = line.rstrip()
        code_snippet = get_code_snippet(lines=line_content, line_number=line_number)
        if ds_scan._is_filtered_out(
            required_filter_parameters=["line"], filename=filename, line=line, context=code_snippet
        ):
            continue
        yield from (
            secret
            for plugin in get_plugins()
            for secret in ds_scan._scan_line(
                plugin=plugin, filename=filename, line=line, line_number=line_number, context=code_snippet
            )
            if not ds_scan._is_filtered_out(
                required_filter_parameters=["context"],
                filename=secret.filename,
                secret=secret.secret_value,
                plugin=plugin,
                line=line,
                context=code_snippet,
            )
        )


def _scan_file(filename: str, prefilter: Prefilter | None) -> Iterator[PotentialSecret]:
    """detect_secrets.core.scan.scan_file, through `_scan_lines`."""
    if prefilter is None:
        yield from ds_scan.scan_file(filename)
        return
    if not get_plugins():
        return
    if ds_scan._is_filtered_out(required_filter_parameters=["filename"], filename=filename):
        return
    try:
        has_secret = False
        # Its transformers' lines first; its eager transformers' only when they find nothing.
        for lines in ds_scan._get_lines_from_file(filename):
            for secret in _scan_lines(lines, filename, prefilter):
                has_secret = True
                yield secret
            if has_secret:
                break
    except OSError:
        ds_scan.log.warning(f"Unable to open file: {filename}")


def _scan_names(root: str, names: Sequence[str]) -> list[list[PotentialSecret]]:
    """The secrets of each file, as SecretsCollection(root).scan_file(name) sees them."""
    with detect_secrets_defaults():
        prefilter = Prefilter.for_plugins(get_plugins())
        return [list(_scan_file(os.path.join(root, convert_local_os_path(name)), prefilter)) for name in names]


def _chunks(names: list[str], sizes: list[int]) -> list[list[str]]:
    chunks: list[list[str]] = [[]]
    total = 0
    for name, size in zip(names, sizes, strict=True):
        if chunks[-1] and (total + size > CHUNK_BYTES or len(chunks[-1]) >= CHUNK_FILES):
            chunks.append([])
            total = 0
        chunks[-1].append(name)
        total += size
    return chunks


def default_workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def scan_files(root: Path | str, files: Sequence[Path | str], workers: int | None = None) -> SecretsCollection:
    """What `SecretsCollection(root=root)` holds after `scan_file` of each file, with
    detect-secrets' default settings. Trees of PARALLEL_MIN_BYTES or more are scanned by
    a pool of `workers` processes (default: the CPUs, at most MAX_WORKERS), started with
    spawn (a forked child of a threaded process can inherit a held lock): like any use of
    multiprocessing, that needs a script calling it to guard its main code with
    `if __name__ == "__main__"`; without, the pool breaks and the scan runs here."""
    root = str(root)
    names = [str(f) for f in files]
    if workers is None:
        workers = default_workers()
    sizes = [_size(os.path.join(root, convert_local_os_path(name))) for name in names]
    found = None
    if workers > 1 and len(names) > 1 and sum(sizes) >= PARALLEL_MIN_BYTES:
        try:
            found = _scan_in_pool(root, names, sizes, workers)
        except (BrokenProcessPool, OSError) as exc:
            log.warning("secret scan: no process pool (%s), scanning in this process", exc)
    if found is None:
        found = _scan_names(root, names)
    collection = SecretsCollection(root=root)
    for name, secrets in zip(names, found, strict=True):
        # As SecretsCollection.scan_file adds them (a set per file: the first equal one stays).
        for secret in secrets:
            collection[convert_local_os_path(name)].add(secret)
    return collection


def _scan_in_pool(root: str, names: list[str], sizes: list[int], workers: int) -> list[list[PotentialSecret]]:
    """`_scan_names` of chunks of files on a pool of processes, in the files' order."""
    chunks = _chunks(names, sizes)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=context) as pool:
        return list(itertools.chain.from_iterable(pool.map(_scan_names, itertools.repeat(root), chunks)))


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def plain_scan_files(root: Path | str, files: Sequence[Path | str]) -> SecretsCollection:
    """detect-secrets' own scan, file by file, with its default settings: the reference."""
    with detect_secrets_defaults():
        collection = SecretsCollection(root=str(root))
        for f in files:
            collection.scan_file(str(f))
    return collection


def findings(collection: SecretsCollection) -> list[tuple[str, int, str, str | None]]:
    """(file, line, type, value) of every secret in a collection, in its order."""
    return [(name, s.line_number, s.type, s.secret_value) for name, s in collection]
