"""Atomic output: a folder written with atomic_folder is there whole or not at all, and a failed or
interrupted write keeps the one that was there."""

from pathlib import Path

import pytest

from chatlike.files import atomic_folder, write_text


def files_in(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def write_model(out: Path, version: str, fail_after: int | None = None) -> None:
    """Two files and a subfolder, as save_pretrained writes them; raise after `fail_after` of them."""
    with atomic_folder(out) as tmp:
        for i, name in enumerate(("config.json", "weights/part-1.bin", "tokenizer.json")):
            if i == fail_after:
                raise RuntimeError("disk full")
            write_text(tmp / name, f"{name} {version}")


def test_a_written_folder_replaces_the_old_one_whole_and_leaves_no_temporary_folder(tmp_path):
    out = tmp_path / "merged"
    write_model(out, "v1")
    (out / "stale.txt").write_text("from v1 only")
    write_model(out, "v2")
    assert files_in(out) == {n: f"{n} v2" for n in ("config.json", "tokenizer.json", "weights/part-1.bin")}
    assert [p.name for p in tmp_path.iterdir()] == ["merged"]


@pytest.mark.parametrize("fail_after", [0, 1, 2])
def test_an_exception_mid_write_keeps_the_old_folder_and_leaves_no_temporary_folder(tmp_path, fail_after):
    out = tmp_path / "merged"
    write_model(out, "v1")
    with pytest.raises(RuntimeError, match="disk full"):
        write_model(out, "v2", fail_after=fail_after)
    assert files_in(out) == {n: f"{n} v1" for n in ("config.json", "tokenizer.json", "weights/part-1.bin")}
    assert [p.name for p in tmp_path.iterdir()] == ["merged"]


def test_a_first_write_that_fails_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        write_model(tmp_path / "merged", "v1", fail_after=2)
    assert list(tmp_path.iterdir()) == []


def test_a_write_killed_between_its_two_renames_gets_the_old_folder_back_on_the_next_write(tmp_path):
    out = tmp_path / "merged"
    write_model(out, "v1")
    out.rename(tmp_path / ".merged.old")  # where a kill -9 after moving the old folder aside leaves it
    (tmp_path / ".merged.tmp").mkdir()
    with pytest.raises(RuntimeError):
        write_model(out, "v2", fail_after=1)
    assert files_in(out)["config.json"] == "config.json v1"
    assert [p.name for p in tmp_path.iterdir()] == ["merged"]
