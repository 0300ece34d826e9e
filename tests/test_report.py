"""The dataset report: report.md with its plots, byte-identical for the same stats, and room for eval."""

import copy
import datetime as dt
import json
import re
from pathlib import Path

import matplotlib
import pytest
from conftest import run_cli

from chatlike.data.report import (
    PLOTS,
    SECTION_END,
    plot_gaps,
    share_of_gaps_longer,
    write_report,
)

PNG = b"\x89PNG\r\n\x1a\n"


def small_export(path: Path) -> Path:
    """A full export: two contacts, conversations a day apart with quick replies, one "only my
    messages" group."""
    chats, start = [], dt.datetime(2024, 3, 1, 9, 0)
    for uid, name in ((101, "Lorenzo"), (102, "Anna")):
        messages = []
        for day in range(6):
            t = start + dt.timedelta(days=day, minutes=uid)
            for k in range(6):
                t += dt.timedelta(minutes=(1, 3, 20)[k % 3])
                mine = k % 2 == 1
                messages.append(
                    {
                        "id": len(messages) + 1,
                        "type": "message",
                        "date": t.isoformat(),
                        "date_unixtime": str(int(t.replace(tzinfo=dt.UTC).timestamp())),
                        "from": "Pasquale" if mine else name,
                        "from_id": "user1" if mine else f"user{uid}",
                        "text": f"day {day} message {k} {'from me' if mine else 'to me'}",
                    }
                )
        chats.append({"name": name, "type": "personal_chat", "id": uid, "messages": messages})
    chats.append(
        {
            "name": "Book club",
            "type": "private_group",
            "id": 900,
            "messages": [
                {
                    "id": 1,
                    "type": "message",
                    "date": "2024-03-01T10:00:00",
                    "date_unixtime": "1709287200",
                    "from": "Pasquale",
                    "from_id": "user1",
                    "text": "hello?",
                }
            ],
        }
    )
    export = {"personal_information": {"user_id": 1, "first_name": "Pasquale"}, "chats": {"list": chats}}
    path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    return path


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
def stats(prepared) -> dict:
    return json.loads((prepared / "data" / "stats.json").read_text(encoding="utf-8"))


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


def test_gap_plot_marks_both_thresholds(stats):
    stats["settings"] |= {"turn_window_minutes": 3.0, "gap_minutes": 90.0}
    ax = plot_gaps(stats).axes[0]
    marked = {line.get_xdata()[0] for line in ax.get_lines()}
    assert {3.0, 90.0} <= marked
    assert ax.get_xscale() == "log"


def test_share_of_gaps_longer_is_exact_on_bin_edges():
    gaps = {"edges_minutes": [0, 1, 5, 60], "counts": [4, 3, 2, 1]}
    assert share_of_gaps_longer(gaps, 5) == pytest.approx(0.3)
    assert share_of_gaps_longer(gaps, 60) == pytest.approx(0.1)
    assert share_of_gaps_longer({"edges_minutes": [0, 1], "counts": [0, 0]}, 5) == 0


def test_same_stats_give_byte_identical_files(stats, tmp_path):
    for name in ("a", "b"):
        write_report(tmp_path / name, stats)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == 1 + len(PLOTS)
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_user_matplotlib_settings_change_no_plot(stats, tmp_path):
    write_report(tmp_path / "a", stats)
    with matplotlib.rc_context({"lines.linewidth": 7, "font.size": 20, "figure.dpi": 300}):
        write_report(tmp_path / "b", stats)
        assert matplotlib.rcParams["font.size"] == 20  # and the user's settings are left as they were
    for plot in PLOTS.values():
        assert (tmp_path / "a" / plot).read_bytes() == (tmp_path / "b" / plot).read_bytes(), plot


EVAL = "<!-- eval section -->\n## Eval\n\nstyle score 0.5\n<!-- end of eval section -->\n"


def test_rerunning_prepare_keeps_the_eval_section(stats, tmp_path):
    write_report(tmp_path, stats)
    report = tmp_path / "report.md"
    report.write_text(report.read_text(encoding="utf-8") + "\n" + EVAL, encoding="utf-8")  # as eval does
    changed = copy.deepcopy(stats)
    changed["settings"]["gap_minutes"] = 30.0
    write_report(tmp_path, changed)
    text = report.read_text(encoding="utf-8")
    assert "segment.gap_minutes=30" in text and "segment.gap_minutes=60" not in text
    assert text.count("## Eval") == 1 and text.endswith(EVAL)
    assert text.index(SECTION_END) < text.index("## Eval")


def test_many_contacts_and_nothing_removed_still_plot(stats, tmp_path):
    many = copy.deepcopy(stats)
    row = {"conversations": 2, "samples": 3, "train": 2, "val": 0, "test": 1, "my_share_of_turns": 0.4}
    many["contacts"] = {f"Контакт {i} 😀": dict(row) for i in range(40)}
    many["filter"]["messages_removed"] = {}
    many["filter"]["chats_removed"] = {}
    many["filter"]["only_my_messages"] = []
    many["segment"]["conversations_dropped"] = {}
    many["gaps"]["counts"] = [0] * len(many["gaps"]["counts"])
    write_report(tmp_path, many)
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
