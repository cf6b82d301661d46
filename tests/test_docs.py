"""The docs a reader navigates: README.md (a newcomer's, at most 200 lines), CONTRIBUTING.md and docs/*.md. Every
relative link resolves, to a file and, with an #anchor, to a heading (GitHub's rules); code that cites a doc's
section by anchor names one that exists, and none cites the README's old sections by name; every generated block
sits in its one file, where its writer writes by default; the README's two commands are the ones CI runs."""
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = [README, REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]
TOPICS = ("hpc", "data", "results", "conventions", "performance")
# the files (and what is beside them) that may cite a doc's section
CITING = ("src", "workflow", "tests", "benchmarks", "scripts", "envs", "presets", "profiles", ".ci", "config.yaml",
          "Snakefile", "CITATION.cff", "pyproject.toml")
CITATION = re.compile(r"((?:docs/[\w-]+|README|CONTRIBUTING)\.md)#([\w-]+)")
# the README's two commands: CI and users run them exactly as written
COMMANDS = ("bash scripts/setup && .venv/bin/snakemake --profile profiles/local --configfile presets/quick.yaml",
            "bash scripts/setup && .venv/bin/python -m pytest")
# each generated block: the one file it lives in
BLOCKS = {"<!-- cost:begin -->": "docs/hpc.md", "<!-- claims:begin -->": "docs/results.md",
          "<!-- comparison:laptop:begin -->": "docs/results.md"}


def prose(text: str) -> str:
    """The text outside fenced code blocks and inline code spans (where a link or a heading is only an example)."""
    text = re.sub(r"^```.*?^```[^\n]*$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: its text (a link's label, code's content), lower case, every character but
    letters, digits, '_', '-' and spaces dropped, each space a '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```[^\n]*$", "", path.read_text(), flags=re.S | re.M)
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", text, flags=re.M):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")  # a repeated heading gets -1, -2, ... as on GitHub
    return out


def links(path: Path) -> list[str]:
    return re.findall(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", prose(path.read_text()))


def test_slugs_follow_githubs_rules():
    assert slug("Untrusted input: what we load and the limits") == "untrusted-input-what-we-load-and-the-limits"
    assert slug("Figure 4 (left): which JVP mode averages, measured") == \
        "figure-4-left-which-jvp-mode-averages-measured"
    assert slug("Updating the code, and `--touch`") == "updating-the-code-and---touch"
    assert slug("The laptop preset's verdicts") == "the-laptop-presets-verdicts"
    assert slug("1-step effectiveness") == "1-step-effectiveness"
    assert slug("What `per_layer` × `joint` means") == "what-per_layer--joint-means"


def test_the_docs_are_there_and_each_says_whom_it_is_for_and_what_it_holds():
    assert {p.stem for p in DOCS if p.parent.name == "docs"} >= set(TOPICS)
    for doc in DOCS[1:]:
        text = doc.read_text()
        assert text.startswith("# "), doc
        assert "This is for" in text.split("\n## ", 1)[0], f"{doc}: a paragraph saying whom it is for, first"
        contents = text.split("**Contents**", 1)
        assert len(contents) == 2, f"{doc}: a contents list"
        listed = set(re.findall(r"\]\(#([\w-]+)\)", contents[1].split("\n\n", 1)[0]))
        sections = {slug(h) for h in re.findall(r"^## +(.+)$", prose(text), flags=re.M)}
        assert sections <= listed, f"{doc}: sections missing from its contents: {sorted(sections - listed)}"


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(REPO)) for d in DOCS])
def test_every_relative_link_resolves(doc):
    broken = []
    for target in links(doc):
        if re.match(r"[a-z]+:", target):  # https:, mailto:: not ours to check
            continue
        file, _, anchor = target.partition("#")
        dest = (doc.parent / file).resolve() if file else doc
        if not dest.exists() or REPO not in (dest, *dest.parents):
            broken.append(f"{target}: no file {dest}")
        elif anchor and anchor not in anchors(dest):
            broken.append(f"{target}: no heading with anchor #{anchor} in {dest.relative_to(REPO)}")
    assert not broken, f"{doc.relative_to(REPO)}: " + "; ".join(broken)


def test_a_broken_link_or_anchor_is_found(tmp_path):
    (tmp_path / "a.md").write_text("# A\n## Two words\n[ok](#two-words) [no](#three-words) [gone](b.md)\n"
                                   "```\n## not a heading\n[not a link](c.md)\n```\n")
    assert links(tmp_path / "a.md") == ["#two-words", "#three-words", "b.md"]
    assert anchors(tmp_path / "a.md") == {"a", "two-words"}


def test_the_readme_is_what_a_newcomer_needs():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    for topic in TOPICS:
        assert f"(docs/{topic}.md" in text, f"the README links to docs/{topic}.md"
    assert "(CONTRIBUTING.md" in text


def test_the_readmes_two_commands_are_the_ones_ci_and_setup_expect():
    block = re.search(r"```bash\n(.*?)```", README.read_text(), flags=re.S).group(1)
    assert [line for line in block.splitlines() if line.strip() and not line.startswith("#")] == list(COMMANDS)
    # CI runs the README's test command, last
    assert (REPO / ".ci" / "run").read_text().strip().splitlines()[-1] == COMMANDS[1]
    # scripts/setup makes .venv with Snakemake and pytest in it (the extras it installs), and the run's files exist
    setup = (REPO / "scripts" / "setup").read_text()
    assert '"$PY" -m venv .venv' in setup and "pip install -q -e '.[pipeline,test]'" in setup
    extras = (REPO / "pyproject.toml").read_text()
    assert re.search(r'pipeline = \[\n    "snakemake==', extras) and re.search(r'test = \[\n    "pytest==', extras)
    assert (REPO / "profiles" / "local" / "config.yaml").is_file() and (REPO / "presets" / "quick.yaml").is_file()


def citing_files():
    for name in CITING:
        path = REPO / name
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if f.is_file() and "__pycache__" not in f.parts and f.suffix not in (".pyc", ".png", ".pdf", ".pt"):
                yield f


def test_code_cites_doc_sections_that_exist():
    """Error messages, comments and tests cite a doc's section as path#anchor (docs/data.md#data-sources)."""
    cited, broken = 0, []
    for f in citing_files():
        for doc, anchor in CITATION.findall(f.read_text(errors="replace")):
            cited += 1
            if not (REPO / doc).exists() or anchor not in anchors(REPO / doc):
                broken.append(f"{f.relative_to(REPO)}: {doc}#{anchor}")
    assert cited >= 10 and not broken, broken


def test_nothing_cites_a_section_of_the_readme_by_name():
    """The README's sections moved to docs/; a citation by name ("README, Data") would go stale unseen."""
    by_name = re.compile(r"README[,:] *\"?[A-Z]|README's \"?[A-Z]|see (the )?README\b(?!\.md#)")
    stale = [f"{f.relative_to(REPO)}: {m.group(0)}" for f in citing_files() if f.name != "test_docs.py"
             for m in by_name.finditer(f.read_text(errors="replace"))]
    assert not stale, stale


def test_each_generated_block_is_in_its_one_file_where_its_writer_writes():
    from gradguess.cli import build_parser

    for begin, home in BLOCKS.items():
        end = begin.replace(":begin", ":end")
        holders = [d.relative_to(REPO).as_posix() for d in DOCS if begin in prose(d.read_text())]
        assert holders == [home], (begin, holders)
        text = (REPO / home).read_text()
        assert text.count(begin) == text.count(end) == 1 and text.index(begin) < text.index(end), begin
    # the writers' defaults name those files
    assert build_parser().parse_args(["cost", "--readme"]).readme == BLOCKS["<!-- cost:begin -->"]
    assert build_parser().parse_args(["cost"]).readme is None  # no --readme: print the table
    summary = build_parser().parse_args(["report", "summary", "--claims"])
    assert summary.readme == BLOCKS["<!-- claims:begin -->"] == BLOCKS["<!-- comparison:laptop:begin -->"]


def test_the_writers_rewrite_only_between_the_markers(tmp_path):
    from gradguess.generated import replace_block

    doc = tmp_path / "doc.md"
    doc.write_text("before\n<!-- x:begin -->\nstale\n<!-- x:end -->\nafter <!-- x:end -->\n")
    replace_block(doc, "<!-- x:begin -->", "<!-- x:end -->", "fresh")
    assert doc.read_text() == "before\n<!-- x:begin -->\nfresh\n<!-- x:end -->\nafter <!-- x:end -->\n"
    doc.write_text("<!-- x:end --> before its begin\n<!-- x:begin -->\n")
    with pytest.raises(ValueError, match="doc.md has no block"):
        replace_block(doc, "<!-- x:begin -->", "<!-- x:end -->", "fresh")


def test_the_laptop_presets_verdicts_are_current():
    """Written by `gradguess report summary` from the laptop run's comparison.csv: equal to it where that run is at
    hand; always, its counts agree with its rows and cover every claim of the code, once."""
    from gradguess.report import claims, summary

    text = (REPO / "docs" / "results.md").read_text()
    begin, end = summary.BEGIN.format(preset="laptop"), summary.END.format(preset="laptop")
    block = text.split(begin, 1)[1].split(end, 1)[0].strip()
    csv = REPO / "paper_figures" / "laptop" / "comparison.csv"
    if csv.exists():
        import pandas as pd

        assert block == summary.block(pd.read_csv(csv)), f"run: gradguess report summary --comparison {csv}"
    counts = re.search(r"at the paper's setting \*\*(\d+) hold, (\d+) do not hold\*\*; at a reduced setting "
                       r"\*\*(\d+) hold, (\d+) do not hold\*\*; (\d+) not measured", block)
    assert counts, block[:300]
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in block.splitlines() if line.startswith("| `")]
    ids = [r[0].strip("`") for r in rows]
    assert len(ids) == len(set(ids)) and set(ids) <= {c.id for c in claims.CLAIMS}
    found = [sum(r[col] == f"**{status}**" for r in rows) for col in (1, 2) for status in ("holds", "does not hold")]
    assert [int(n) for n in counts.groups()[:4]] == found
    assert sum(int(n) for n in counts.groups()) == len(claims.CLAIMS), "a claim was added or removed since"


def test_the_count_of_claims_written_by_hand_is_right():
    from gradguess.report import claims

    said = re.search(r"(\d+) checks of the paper's quantitative claims", (REPO / "docs" / "results.md").read_text())
    assert said and int(said.group(1)) == len(claims.CLAIMS)
