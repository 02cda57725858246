"""The repository stands alone: it refers only to documents it contains, and its
metric contract (docs/metrics.md) documents every column of every mart and every
data quality rule."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
METRICS = ROOT / "docs" / "metrics.md"
MARTS_YAML = sorted((ROOT / "dbt_project" / "models" / "marts").glob("_*.yml"))
STAGING_SQL = sorted((ROOT / "dbt_project" / "models" / "staging").rglob("*.sql"))

OUTSIDE_FOLDER = re.compile(r"\.\./shared")
# A document name: an optional relative path, a file name ending in .md.
DOCUMENT_NAME = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-][\w.-]*\.md)\b")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s#]+\.md)?#([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$", re.MULTILINE)


def repository_files() -> list[Path]:
    """Every file git tracks or would track (new files not yet committed included)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    return [ROOT / name for name in listed if name and (ROOT / name).is_file()]


def text_files() -> dict[Path, str]:
    texts = {}
    for path in repository_files():
        content = path.read_bytes()
        if b"\0" not in content:
            texts[path] = content.decode("utf-8", errors="replace")
    return texts


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def sections(markdown: str) -> dict[str, str]:
    """Each heading's text (backticks dropped) → its section, up to the next heading
    of the same or a higher level."""
    found = list(HEADING.finditer(markdown))
    result = {}
    for i, match in enumerate(found):
        level = len(match.group(1))
        end = next((later.start() for later in found[i + 1 :] if len(later.group(1)) <= level), len(markdown))
        result[match.group(2).replace("`", "")] = markdown[match.end() : end]
    return result


def test_no_file_refers_outside_the_repository():
    offending = [
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
        for path, text in text_files().items()
        for m in OUTSIDE_FOLDER.finditer(text)
    ]
    assert not offending, offending


def test_every_document_named_exists_in_the_repository():
    files = repository_files()
    names = {path.name for path in files}
    missing = []
    for path, text in text_files().items():
        for name in set(DOCUMENT_NAME.findall(text)):
            if "/" in name:
                found = (path.parent / name).resolve().is_file() or (ROOT / name).resolve().is_file()
            else:
                found = name in names
            if not found:
                missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert not missing, missing


def test_every_link_to_a_section_finds_its_heading():
    broken = []
    for path, text in text_files().items():
        if path.suffix != ".md":
            continue
        for target, anchor in MARKDOWN_LINK.findall(text):
            document = (path.parent / target).resolve() if target else path
            headings = {slug(h) for _, h in HEADING.findall(document.read_text())} if document.is_file() else set()
            if anchor not in headings:
                broken.append(f"{path.relative_to(ROOT)}: {target}#{anchor}")
    assert not broken, broken


def mart_models() -> dict[str, list[dict]]:
    """Each mart of the model YAML → its columns (name, data_type, description), in order."""
    models = {}
    for path in MARTS_YAML:
        for model in yaml.safe_load(path.read_text()).get("models", []):
            models[model["name"]] = model.get("columns", [])
    return models


def contract_table(section: str) -> list[tuple[str, str]]:
    """The (column, type) rows of a mart's table in docs/metrics.md, in order."""
    return re.findall(r"^\| `(\w+)` \| ([^|]+?) \|", section, re.MULTILINE)


def test_the_marts_have_columns_to_document():
    assert {
        "daily_revenue_summaries",
        "partner_performance_metrics",
        "customer_analytics",
        "fct_orders",
        "data_quality_issues",
        "agg_orders_daily",
    } <= {model for model, columns in mart_models().items() if columns}


@pytest.mark.parametrize("model", sorted(mart_models()))
def test_the_metric_contract_lists_the_columns_of_the_mart_as_the_yaml_does(model):
    """Same columns, same order, same types: a column added, dropped, renamed or
    retyped in one place and not the other fails here."""
    section = sections(METRICS.read_text()).get(model)
    assert section is not None, f"docs/metrics.md has no section headed {model}"
    documented = contract_table(section)
    columns = mart_models()[model]
    assert [name for name, _ in documented] == [column["name"] for column in columns]
    typed = [(column["name"], column["data_type"].replace(" ", "")) for column in columns if column.get("data_type")]
    assert typed == [(name, kind.replace(" ", "")) for name, kind in documented if name in dict(typed)]


@pytest.mark.parametrize("model", sorted(mart_models()))
def test_every_mart_column_has_a_description_in_the_yaml(model):
    """dbt docs and the Dagster UI show the YAML description beside each column."""
    assert not [column["name"] for column in mart_models()[model] if not (column.get("description") or "").strip()]


def staging_rules() -> set[str]:
    """The rule names the staging models flag (their dq_reason lists)."""
    rules = set()
    for path in STAGING_SQL:
        for block in re.findall(r"dq_reason\(\[(.*?)\]\)", path.read_text(), re.DOTALL):
            # Each (rule, condition) pair opens the list or a line of it.
            rules |= set(re.findall(r"^\s*\(\s*'([a-z_]+)'", block, re.MULTILINE))
    return rules


def test_every_staging_rule_is_in_the_data_quality_section():
    rules = staging_rules()
    assert "possible_duplicate" in rules and "negative_amount" in rules
    section = sections(METRICS.read_text())["data_quality_issues"]
    assert not [rule for rule in rules if f"`{rule}`" not in section]
