"""The dataset report: report.md and its plots, byte-identical for the same stats, and room for eval;
data/stats.json read back through its type."""

import copy
import io
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from matplotlib.image import imread

from chatlike.data import plots
from chatlike.data.plots import MAX_CONTACTS_PLOTTED
from chatlike.data.report import PLOTS, SECTION_END, write_report
from chatlike.data.stats import DatasetStats, Gaps, Settings, SplitCounts, read_stats
from chatlike.errors import ChatlikeError
from chatlike.plotstyle import GAP_COLOR, WINDOW_COLOR
from chatlike.quantiles import Summary
from tests.support.cli import run_cli
from tests.support.runs import small_export

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """A run dir that the real prepare stage wrote (stats.json in the format prepare writes)."""
    tmp = tmp_path_factory.mktemp("prepared")
    export = small_export(tmp / "result.json")
    run_cli(
        f"source.path={export}",
        f"hydra.run.dir={tmp / 'run'}",
        "stages=[prepare]",
        "filter.chat_types=[personal_chat,private_group]",
        "filter.min_messages=1",
        "filter.min_my_messages=0",
        check=True,
    )
    return tmp / "run"


@pytest.fixture
def stats(prepared) -> DatasetStats:
    return read_stats(prepared / "data" / "stats.json")


def write_both(run_dir: Path, stats: DatasetStats) -> None:
    """What prepare writes from the stats: report.md and, beside it, the plots."""
    write_report(run_dir, stats)
    plots.write_plots(run_dir, stats)


ROW = SplitCounts(conversations=2, samples=3, train=2, val=0, test=1)


def test_prepare_writes_report_md_linking_every_plot_as_a_png(prepared):
    report = (prepared / "report.md").read_text(encoding="utf-8")
    for heading in (
        "# chatlike dataset report",
        "## Samples",
        "## Gaps between messages",
        "## Turns and characters per sample",
        "## Conversations per contact",
        "## My share of turns",
        "## What each filter removed",
    ):
        assert heading in report
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert sorted(links) == sorted(PLOTS.values())
    for link in links:
        assert (prepared / link).read_bytes().startswith(PNG), link


def test_report_names_only_my_messages_groups_and_how_to_change_thresholds(prepared):
    report = (prepared / "report.md").read_text(encoding="utf-8")
    assert '"only my messages"' in report and "`Book club`" in report
    assert "segment.turn_window_minutes=5" in report and "segment.gap_minutes=60" in report
    assert "python -m chatlike -m " in report  # a sweep to compare thresholds


def rgb(color: str) -> tuple[float, ...]:
    return tuple(int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header."""
    assert data.startswith(PNG) and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def draw(plot, stats: DatasetStats):
    """The figure a plot function makes, and its PNG decoded: rows top to bottom, RGB(A) in 0..1."""
    with plots.style():
        fig = plot(stats)
        return fig, imread(io.BytesIO(plots.png_bytes(fig)))


def test_gap_plot_marks_both_thresholds_on_a_log_axis(stats):
    stats.settings.turn_window_minutes, stats.settings.gap_minutes = 3.0, 90.0
    fig, image = draw(plots.plot_gaps, stats)
    ax = fig.axes[0]
    x = lambda minutes: ax.transData.transform((minutes, 0))[0]  # noqa: E731  px from the left
    assert x(90) - x(9) == pytest.approx(x(10) - x(1))  # equal ratios, equal distances: a log axis
    top, bottom = image.shape[0] - ax.bbox.y1, image.shape[0] - ax.bbox.y0
    for minutes, color, dashed in ((3.0, WINDOW_COLOR, True), (90.0, GAP_COLOR, False)):
        column = image[round(top) : round(bottom), round(x(minutes)), :3]
        hits = sum(max(abs(a - b) for a, b in zip(pixel, rgb(color))) < 0.02 for pixel in column)
        # a dashed line covers part of the height, a solid one nearly all of it
        assert (0.3 < hits / len(column) < 0.8) if dashed else hits / len(column) > 0.9, (minutes, hits)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[0].startswith("turn_window_minutes = 3: ") and legend[0].endswith("of gaps shorter)")
    assert legend[1].startswith("gap_minutes = 90: ") and legend[1].endswith("of gaps longer)")


def test_gap_legend_says_what_share_of_gaps_each_threshold_cuts(stats):
    stats.gaps = Gaps([0, 1, 5, 60], [4, 3, 2, 1])
    stats.settings = Settings(gap_minutes=60, turn_window_minutes=5, max_tokens=2048, min_turns=2)
    window, gap = plots.thresholds(stats)
    assert window.legend.startswith("turn_window_minutes = 5: ")
    assert window.legend.endswith("(70% of gaps shorter)")
    assert gap.legend.startswith("gap_minutes = 60: ") and gap.legend.endswith("(10% of gaps longer)")


def test_share_of_gaps_longer_is_exact_on_bin_edges():
    gaps = Gaps([0, 1, 5, 60], [4, 3, 2, 1])
    assert gaps.share_longer(5) == pytest.approx(0.3)
    assert gaps.share_longer(60) == pytest.approx(0.1)
    assert Gaps([0, 1], [0, 0]).share_longer(5) == 0


def test_same_stats_give_byte_identical_files(stats, tmp_path):
    for name in ("a", "b"):
        write_both(tmp_path / name, stats)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == 1 + len(PLOTS)
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_matplotlib_is_imported_only_to_draw_and_a_users_matplotlibrc_changes_no_byte(prepared, tmp_path):
    # prepare imports the report; matplotlib (half a second) only when the plots are drawn
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from chatlike.data.report import write_report\n"
        "from chatlike.data.stats import read_stats\n"
        "print('matplotlib' in sys.modules)\n"
        f"stats = read_stats(Path({str(prepared / 'data' / 'stats.json')!r}))\n"
        f"write_report(Path({str(tmp_path)!r}), stats)\n"
        "print('matplotlib' in sys.modules)\n"
        "from chatlike.data import plots\n"
        f"plots.write_plots(Path({str(tmp_path)!r}), stats)\n"
    )
    rc = tmp_path / "matplotlibrc"
    rc.write_text("font.size: 20\naxes.facecolor: yellow\nsavefig.dpi: 300\ntext.hinting: none\n")
    env = os.environ | {"MATPLOTLIBRC": str(rc)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
    assert proc.stdout.split() == ["False", "False"]
    for plot in PLOTS.values():
        assert (tmp_path / plot).read_bytes() == (prepared / plot).read_bytes(), plot


def test_plots_are_about_800_px_wide_and_grow_with_the_rows(stats, tmp_path):
    write_both(tmp_path / "few", stats)
    many = copy.deepcopy(stats)
    many.contacts = {f"contact {i}": ROW for i in range(10)}
    many.filter.messages_removed = {f"rule {i}": i + 1 for i in range(10)}
    write_both(tmp_path / "many", many)
    for plot in PLOTS.values():
        width, height = png_size((tmp_path / "few" / plot).read_bytes())
        assert 800 <= width <= 900 and 100 <= height <= 1000, plot
    for plot in (PLOTS["contacts"], PLOTS["filters"]):
        few, many = (png_size((tmp_path / run / plot).read_bytes())[1] for run in ("few", "many"))
        assert many > few, plot


def test_contacts_after_the_first_ones_are_summed_in_one_row(stats):
    stats.contacts = {f"contact {i}": ROW for i in range(MAX_CONTACTS_PLOTTED + 475)}
    rows = plots.contact_rows(stats)
    assert len(rows) == MAX_CONTACTS_PLOTTED + 1
    assert rows[0][0] == "contact 0"
    assert rows[-1] == ("475 more contacts", SplitCounts(950, 1425, 950, 0, 475))


def test_long_names_are_cut_to_one_line_with_an_ellipsis(stats):
    name = "Александра Константиновна\nПреображенская-Долгорукова 😀" * 3
    cut = plots.one_line(name, plots.LABEL, plots.NAME_WIDTH)
    assert cut.endswith("…") and "\n" not in cut and cut[:-1] in name.replace("\n", " ")
    assert plots.text_width(cut, plots.LABEL) <= plots.NAME_WIDTH
    assert plots.one_line("Anna", plots.LABEL, plots.NAME_WIDTH) == "Anna"
    stats.contacts = {name: ROW, "Anna": ROW}
    fig, _ = draw(plots.plot_contacts, stats)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [cut, "Anna"]


EVAL = "<!-- eval section -->\n## Eval\n\nstyle score 0.5\n<!-- end of eval section -->\n"


def test_rerunning_prepare_keeps_the_eval_section(stats, tmp_path):
    write_report(tmp_path, stats)
    report = tmp_path / "report.md"
    report.write_text(report.read_text(encoding="utf-8") + "\n" + EVAL, encoding="utf-8")  # as eval does
    changed = copy.deepcopy(stats)
    changed.settings.gap_minutes = 30.0
    write_report(tmp_path, changed)
    text = report.read_text(encoding="utf-8")
    assert "segment.gap_minutes=30" in text and "segment.gap_minutes=60" not in text
    assert text.count("## Eval") == 1 and text.endswith(EVAL)
    assert text.index(SECTION_END) < text.index("## Eval")


def test_many_contacts_and_nothing_removed_still_plot(stats, tmp_path):
    # names in Cyrillic with emoji (missing from the font: drawn as a box, no error)
    many = copy.deepcopy(stats)
    many.contacts = {f"Контакт {i} 😀": ROW for i in range(40)}
    many.filter.messages_removed, many.filter.chats_removed, many.filter.only_my_messages = {}, {}, []
    many.segment.conversations_dropped = {}
    many.gaps = Gaps()
    write_both(tmp_path, many)
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| Контакт 39 😀 | 2 |" in report and "only my messages" not in report
    for plot in PLOTS.values():
        assert (tmp_path / plot).read_bytes().startswith(PNG)


def test_a_marked_section_written_before_prepare_survives_it(stats, tmp_path):
    (tmp_path / "report.md").write_text("# chatlike report\n\n" + EVAL, encoding="utf-8")
    write_report(tmp_path, stats)
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# chatlike dataset report") and report.endswith(EVAL)
    assert "# chatlike report\n" not in report


def test_edge_case_stats_give_valid_pngs(stats, tmp_path):
    empty = copy.deepcopy(stats)
    empty.contacts, empty.gaps = {}, Gaps()
    empty.turns_per_sample = empty.chars_per_sample = empty.approx_tokens_per_sample = Summary(0)
    empty.filter.messages_removed, empty.filter.chats_removed = {}, {}
    empty.segment.conversations_dropped, empty.segment.duplicates_dropped = {}, 0
    huge = copy.deepcopy(stats)
    many = SplitCounts(conversations=10**9, samples=10**9, train=10**9, val=7, test=0)
    huge.contacts = {f"{'Zoë ' * 40}{i} 🎉": many for i in range(3)}
    huge.gaps = Gaps(counts=[10**12] * len(Gaps().counts))
    huge.settings.turn_window_minutes, huge.settings.gap_minutes = 0.0, 10**6  # off the bins, both ways
    huge.filter.messages_removed = {"x" * 500: 10**10, "no_text:sticker": 0}
    for name, case in (("empty", empty), ("huge", huge)):
        write_both(tmp_path / name, case)
        for plot in PLOTS.values():
            image = imread(tmp_path / name / plot)  # decodes: a valid PNG
            assert image.shape[1] >= 800 and image.shape[2] in (3, 4), (name, plot)


def test_a_failing_plot_is_one_error_line_naming_the_plots_folder(stats, tmp_path):
    (tmp_path / "plots").write_text("a file where the folder goes", encoding="utf-8")
    with pytest.raises(ChatlikeError) as failed:
        plots.write_plots(tmp_path, stats)
    message = str(failed.value)
    assert str(tmp_path / "plots") in message and "\n" not in message
    broken = copy.deepcopy(stats)
    broken.turns_per_sample = None  # a bug, drawing
    with pytest.raises(ChatlikeError, match=re.escape(str(tmp_path / "broken" / "plots"))):
        plots.write_plots(tmp_path / "broken", broken)


# ---- data/stats.json, read back through its type ---------------------------------------------


def test_stats_json_is_read_back_as_written_and_stays_plain_json(prepared):
    raw = (prepared / "data" / "stats.json").read_bytes()
    stats = read_stats(prepared / "data" / "stats.json")
    assert msgspec.json.format(msgspec.json.encode(stats), indent=2) + b"\n" == raw
    plain = json.loads(raw)  # what jq reads
    assert plain["samples"]["total"] == stats.samples.total > 0
    assert plain["sources"]["telegram"]["chats_kept"] == 2 and plain["me"] == "Pasquale"


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        (lambda s: s.replace(b'"train": ', b'"train": "x', 1), "malformed"),
        (
            lambda s: s.replace(b'"total": ', b'"total": -0.5, "_": ', 1),
            "Expected `int`, got `float` - at `$.samples.total`",
        ),
        (
            lambda s: s.replace(b'"my_share_of_turns"', b'"my_share"', 1),
            "missing required field `my_share_of_turns`",
        ),
        (lambda s: s[: len(s) // 2], "truncated"),
    ],
    ids=["bad-json", "wrong-type", "missing-field", "truncated"],
)
def test_an_unreadable_stats_json_is_one_line_naming_the_file_and_the_field(prepared, tmp_path, edit, expect):
    path = tmp_path / "stats.json"
    path.write_bytes(edit((prepared / "data" / "stats.json").read_bytes()))
    with pytest.raises(ChatlikeError) as err:
        read_stats(path)
    assert str(path) in str(err.value) and expect in str(err.value) and "\n" not in str(err.value)
