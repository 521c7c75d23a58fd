"""Writing an index into a folder that holds other things: every file that is
not part of the index is kept (a ``git clone`` of the Hub dataset, notes), the
index's own files are replaced with the metadata last, a failure puts them all
back, readers never take two builds for one index, and ``--force`` never
touches a home, system or git folder, a mount point or a special file.

Every folder here is under ``tmp_path``; paths outside it (``/dev/null``,
``/proc``) are only given to ``check_out_folder``, which writes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import faq_core.index as index_module
from faq_core.embedders import LocalEmbedder
from faq_core.errors import IndexLoadError, IndexWriteError
from faq_core.faqs import load_faqs
from faq_core.index import (
    FAQIndex,
    build_index,
    check_out_folder,
    kept_files_note,
    load_index,
    other_files,
    save_index,
)
from faq_core.threshold import with_auto_threshold
from tests.core.conftest import write

FIRST = "id,question,answer\nvpn,How do I use the VPN?,Install the client.\nwifi,What is the wifi password?,Ask.\n"
SECOND = FIRST + "payday,When is payday?,On the last working day.\n"


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory, local_embedder: LocalEmbedder) -> tuple[FAQIndex, FAQIndex]:
    """Two builds that are easy to tell apart: 2 FAQs, then 3."""
    folder = tmp_path_factory.mktemp("sources")
    return (with_auto_threshold(build_index(load_faqs(write(folder / "first.csv", FIRST)), local_embedder)),
            with_auto_threshold(build_index(load_faqs(write(folder / "second.csv", SECOND)), local_embedder)))


def tree(folder: Path) -> dict[str, str]:
    """Every entry under ``folder``: a file with the sha256 of its bytes, a folder as ``dir``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def hub_clone(folder: Path, index: FAQIndex) -> dict[str, str]:
    """An index folder as ``git clone`` of its Hub dataset leaves it, plus the
    user's own files; returns the tree of what is not part of the index."""
    save_index(index, folder)
    write(folder / ".git" / "HEAD", "ref: refs/heads/main\n")
    write(folder / ".git" / "objects" / "ab" / "cdef", b"\x78\x01blob")
    write(folder / ".gitattributes", "*.parquet filter=lfs diff=lfs merge=lfs -text\n")
    write(folder / "NOTES.md", "who owns which FAQ\n")
    write(folder / "phrasings" / "about.txt", "the phrasings table\n")
    return {name: digest for name, digest in tree(folder).items() if name.split("/")[0] in
            (".git", ".gitattributes", "NOTES.md") or name == "phrasings/about.txt"}


def test_rebuilding_a_hub_clone_keeps_every_file_that_is_not_part_of_the_index(
    indexes: tuple[FAQIndex, FAQIndex], tmp_path: Path
) -> None:
    first, second = indexes
    folder = tmp_path / "idx"
    kept = hub_clone(folder, first)
    save_index(second, folder)
    assert {name: digest for name, digest in tree(folder).items() if name in kept} == kept
    assert [f.id for f in load_index(folder).faqs] == ["vpn", "wifi", "payday"]
    assert "3 FAQs" in (folder / "README.md").read_text(encoding="utf-8")  # faq-bot's own card: rewritten
    assert other_files(folder) == [".git/", ".gitattributes", "NOTES.md", "phrasings/about.txt"]
    assert kept_files_note(folder) == (f"kept what {folder} holds besides the index: "
                                       ".git/, .gitattributes, NOTES.md, phrasings/about.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]  # no staging folder left, inside or beside
    assert not [p for p in folder.iterdir() if p.name.startswith(".faq-bot-")]


def test_a_readme_faq_bot_did_not_write_is_left_as_it_is(indexes: tuple[FAQIndex, FAQIndex], tmp_path: Path) -> None:
    first, second = indexes
    folder = save_index(first, tmp_path / "idx")
    own = "---\nlicense: cc-by-4.0\n---\n# Our support FAQs\n\nWritten by the support team.\n"
    write(folder / "README.md", own)
    save_index(second, folder)
    assert (folder / "README.md").read_text(encoding="utf-8") == own
    assert load_index(folder).meta.faq_count == 3
    assert "README.md (not a card faq-bot wrote: left as it is, not updated)" in (kept_files_note(folder) or "")


def test_other_parquet_files_of_a_table_are_replaced_with_it(
    indexes: tuple[FAQIndex, FAQIndex], tmp_path: Path
) -> None:
    first, second = indexes
    folder = save_index(first, tmp_path / "idx")
    # a table split in shards by another writer: the loader would read them with the new file
    os.rename(folder / "faqs" / "train.parquet", folder / "faqs" / "train-00000-of-00001.parquet")
    save_index(second, folder)
    assert sorted(p.name for p in (folder / "faqs").iterdir()) == ["train.parquet"]
    assert load_index(folder).meta.faq_count == 3


def test_the_metadata_is_replaced_after_the_tables_and_readers_never_get_a_mix(
    indexes: tuple[FAQIndex, FAQIndex], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = indexes
    folder = tmp_path / "idx"
    hub_clone(folder, first)
    monkeypatch.setattr(index_module, "MIXED_WAIT_SECONDS", 0.0)  # the writer is paused: don't wait for it
    real_replace = os.replace
    installed: list[str] = []
    seen: list[object] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        real_replace(src, dst)
        name = str(Path(dst).relative_to(folder))
        if not name.startswith(".faq-bot-staging-"):
            installed.append(name)
        try:  # a reader loading the folder after each rename of the writer
            seen.append([f.id for f in load_index(folder).faqs])
        except IndexLoadError as error:
            seen.append("refused: " + str(error))

    monkeypatch.setattr(index_module.os, "replace", replace)
    save_index(second, folder)
    assert installed[:2] == ["phrasings/train.parquet", "faqs/train.parquet"]
    assert installed[-3:] == ["state/MANIFEST", "faq_index.json", "README.md"]  # the state's manifest after its arrays
    assert all(name.startswith("state/") for name in installed[2:-2])
    complete = [["vpn", "wifi"], ["vpn", "wifi", "payday"]]
    assert all(s in complete or (isinstance(s, str) and s.startswith("refused: ")) for s in seen), seen
    assert seen[-1] == complete[1]  # once the metadata is in place: the new build
    assert any(isinstance(s, str) and "come from different builds" in s for s in seen)  # the window is seen as such


@pytest.mark.parametrize("failing", [1, 2, 3, 4, 5, 6, 7, 8])
def test_a_failed_rename_at_any_step_puts_every_file_back(
    indexes: tuple[FAQIndex, FAQIndex], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: int
) -> None:
    first, second = indexes
    folder = tmp_path / "idx"
    hub_clone(folder, first)
    before = tree(folder)
    real_replace = os.replace
    calls: list[Path] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(Path(dst))
        if len(calls) == failing:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(index_module.os, "replace", replace)
    with pytest.raises(IndexWriteError, match="No space left on device") as caught:
        save_index(second, folder)
    assert "unchanged" in str(caught.value) and "\n" not in str(caught.value)
    assert tree(folder) == before
    assert [f.id for f in load_index(folder).faqs] == ["vpn", "wifi"]


def test_if_even_the_undo_fails_the_error_says_where_the_previous_files_are(
    indexes: tuple[FAQIndex, FAQIndex], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = indexes
    folder = save_index(first, tmp_path / "idx")
    meta_before = (folder / "faq_index.json").read_bytes()
    real_replace = os.replace
    calls: list[Path] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(Path(dst))
        if len(calls) >= 4:  # moving the second table in, and every move back
            raise OSError(5, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(index_module.os, "replace", replace)
    with pytest.raises(IndexWriteError, match="the previous files are kept in ") as caught:
        save_index(second, folder)
    kept = Path(str(caught.value).rsplit("kept in ", 1)[1])
    assert kept.parent.parent == folder and kept.parent.name.startswith(".faq-bot-staging-")
    assert (kept / "phrasings" / "train.parquet").is_file()  # the first table, moved aside, is there
    assert (folder / "faq_index.json").read_bytes() == meta_before  # the metadata was never replaced


def test_a_folder_whose_tables_come_from_another_build_is_refused(
    indexes: tuple[FAQIndex, FAQIndex], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = indexes
    old = save_index(first, tmp_path / "old")
    new = save_index(second, tmp_path / "new")
    os.replace(new / "phrasings" / "train.parquet", old / "phrasings" / "train.parquet")  # as a killed build leaves it
    monkeypatch.setattr(index_module, "MIXED_WAIT_SECONDS", 0.2)
    with pytest.raises(IndexLoadError) as caught:
        load_index(old)
    assert str(caught.value) == (f"cannot load the FAQ index {old}: its tables and faq_index.json come from different "
                                 "builds (a build was interrupted): build it again with 'faq-bot index build'")
    save_index(first, old)  # and building again mends it
    assert [f.id for f in load_index(old).faqs] == ["vpn", "wifi"]


def test_calibrating_keeps_the_folders_build(indexes: tuple[FAQIndex, FAQIndex], tmp_path: Path) -> None:
    first, _ = indexes
    folder = save_index(first, tmp_path / "idx")
    from dataclasses import replace

    index_module.write_meta(folder, replace(first.meta, min_score=0.5))  # an in-memory meta, without the build
    assert json.loads((folder / "faq_index.json").read_text(encoding="utf-8"))["build_id"]
    assert load_index(folder).meta.min_score == 0.5


# -- what --force never touches -------------------------------------------------------------


@pytest.fixture()
def fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home folder under ``tmp_path`` (``HOME`` points at it), with what a home holds."""
    home = tmp_path / "home" / "ana"
    write(home / ".ssh" / "id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\n")
    write(home / "notes.txt", "mine\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    yield home


@pytest.mark.parametrize(("out", "because"), [
    ("home/ana", "is a home folder"),
    ("home", f"is a folder holding the home folder {{tmp}}{os.sep}home{os.sep}ana"),
])
def test_force_never_writes_into_a_home_folder(
    indexes: tuple[FAQIndex, FAQIndex], tmp_path: Path, fake_home: Path, out: str, because: str
) -> None:
    before = tree(tmp_path)
    with pytest.raises(IndexWriteError) as caught:
        save_index(indexes[0], out, force=True)
    assert str(caught.value) == (f"--out {out} {because.format(tmp=tmp_path.resolve())}: --force never writes an "
                                 "index there; choose a new folder")
    assert tree(tmp_path) == before


def test_force_never_writes_into_a_git_working_tree_or_a_mount_point(
    indexes: tuple[FAQIndex, FAQIndex], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "project" / ".git" / "HEAD", "ref: refs/heads/main\n")
    write(tmp_path / "project" / "main.py", "print('hi')\n")
    write(tmp_path / "volume" / "data.bin", b"\x00")
    import faq_core.out_paths as out_paths

    real_ismount = os.path.ismount
    monkeypatch.setattr(out_paths.os.path, "ismount", lambda p: str(p) == str(tmp_path / "volume") or real_ismount(p))
    before = tree(tmp_path)
    with pytest.raises(IndexWriteError, match=r"project is a git working tree \(it holds \.git\): --force never"):
        save_index(indexes[0], tmp_path / "project", force=True)
    with pytest.raises(IndexWriteError, match=r"volume is a mount point: --force never writes an index there"):
        save_index(indexes[0], tmp_path / "volume", force=True)
    assert tree(tmp_path) == before


def test_system_folders_roots_and_mount_points_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    # check_out_folder only decides; nothing here can be written even if it decided wrongly
    for path, because in [("/proc", "is a system folder"), ("/etc", "is a system folder"),
                          ("/usr/share", "is a system folder")]:
        with pytest.raises(IndexWriteError, match=because):
            check_out_folder(path, force=True)
    with pytest.raises(IndexWriteError, match=r"--out /dev/null is a device, not a folder: choose another path "
                                              r"\(--force never replaces it\)"):
        check_out_folder("/dev/null", force=True)
    from faq_core.out_paths import protected_folder

    assert protected_folder("/") == "a system folder"
    mounted = next((p for p in ("/proc", "/sys", "/dev") if os.path.ismount(p)), None)
    if mounted:
        assert protected_folder(mounted) in ("a system folder", "a mount point")


def test_a_fifo_or_a_socket_is_never_replaced(indexes: tuple[FAQIndex, FAQIndex], tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "sock"))
    try:
        for name, kind in (("pipe", "a FIFO (named pipe)"), ("sock", "a socket")):
            for force in (False, True):
                with pytest.raises(IndexWriteError) as caught:
                    save_index(indexes[0], tmp_path / name, force=force)
                assert str(caught.value) == (f"--out {tmp_path / name} is {kind}, not a folder: choose another path "
                                             "(--force never replaces it)")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe", "sock"]
    finally:
        listener.close()


def test_force_writes_into_another_folder_and_keeps_its_files(
    indexes: tuple[FAQIndex, FAQIndex], tmp_path: Path
) -> None:
    write(tmp_path / "project" / "plan.md", "plan\n")
    write(tmp_path / "project" / "sub" / "data.bin", b"\x00\x01")
    before = tree(tmp_path / "project")
    folder = save_index(indexes[0], tmp_path / "project", force=True)
    assert {k: v for k, v in tree(folder).items() if k in before} == before
    assert load_index(folder).meta.faq_count == 2
    assert other_files(folder) == ["plan.md", "sub/"]


def test_index_paths_that_are_links_or_files_are_refused(indexes: tuple[FAQIndex, FAQIndex], tmp_path: Path) -> None:
    folder = save_index(indexes[0], tmp_path / "idx")
    elsewhere = write(tmp_path / "elsewhere" / "train.parquet", b"not mine to replace")
    os.rename(folder / "phrasings", tmp_path / "moved")
    (folder / "phrasings").symlink_to(elsewhere.parent, target_is_directory=True)
    with pytest.raises(IndexWriteError, match=r"phrasings in it is not a folder, but the index keeps its phrasings "
                                              r"table there: move it away or choose another folder"):
        save_index(indexes[1], folder)
    assert elsewhere.read_bytes() == b"not mine to replace"


# -- a folder that cannot be written ---------------------------------------------------------


def refuse_writes(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``folder`` read-only. Root ignores the mode, so there the kernel's
    refusal is stood in for: every rename the index module makes fails as it would."""
    folder.chmod(0o555)
    if os.geteuid() == 0:
        def refused(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(index_module.os, "replace", refused)


def test_a_read_only_index_folder_is_one_line_and_stays_as_it_was(
    indexes: tuple[FAQIndex, FAQIndex], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = indexes
    folder = save_index(first, tmp_path / "idx")
    before = tree(folder)
    refuse_writes(folder, monkeypatch)
    try:
        with pytest.raises(IndexWriteError) as caught:
            save_index(second, folder)
        with pytest.raises(IndexWriteError) as calibrating:
            index_module.write_meta(folder, first.meta)
    finally:
        folder.chmod(0o755)
    assert re.fullmatch(rf"(could not write the index|cannot write the index into) {re.escape(str(folder))}: "
                        r"Permission denied \(what was there is unchanged\)", str(caught.value))
    assert str(calibrating.value) == (
        f"cannot write {folder}/faq_index.json: Permission denied (the index is unchanged). The folder must be "
        f"writable: fix its permissions, or copy it (cp -r {folder} NEW) and run the command on the copy")
    assert tree(folder) == before


def test_the_sample_is_served_when_its_cache_cannot_be_written(
    local_embedder: LocalEmbedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from faq_core.sample import sample_index

    blocked = write(tmp_path / "a-file", "FAQ_CACHE_DIR points below a file\n")
    index = sample_index(local_embedder, blocked / "cache")
    assert index.bundled_sample and len(index.faqs) == 13
    assert "serving the sample FAQ index without caching it" in caplog.text
    assert blocked.read_text(encoding="utf-8") == "FAQ_CACHE_DIR points below a file\n"


def test_a_folder_that_cannot_be_written_is_refused_before_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "idx").mkdir()
    (tmp_path / "parent").mkdir()
    monkeypatch.chdir(tmp_path)
    # root may write anywhere: the refusal the kernel gives anyone else is stood in for
    monkeypatch.setattr(index_module.os, "access", lambda path, mode: Path(path).name not in ("idx", "parent"))
    with pytest.raises(IndexWriteError, match=r"^cannot write the index into idx: Permission denied \(what was "
                                              r"there is unchanged\)$"):
        check_out_folder("idx")
    with pytest.raises(IndexWriteError, match=rf"^cannot write the index into {re.escape(str(tmp_path))}/parent: "):
        check_out_folder(tmp_path / "parent" / "new" / "idx")


def test_a_failed_write_into_an_empty_folder_leaves_it_empty(
    indexes: tuple[FAQIndex, FAQIndex], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "volume").mkdir()  # e.g. an empty volume mounted for the index
    real_replace = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst).name == "faq_index.json":
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(index_module.os, "replace", replace)
    with pytest.raises(IndexWriteError, match="unchanged"):
        save_index(indexes[0], tmp_path / "volume")
    assert list((tmp_path / "volume").iterdir()) == []  # still empty: the next build needs no --force
