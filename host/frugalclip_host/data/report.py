"""The data report of a preparation run: JSON for tools, Markdown for people."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from frugalclip_host import __version__
from frugalclip_host.data.duplicates import DuplicateGroup, NearPair
from frugalclip_host.data.options import PrepareOptions
from frugalclip_host.data.records import DroppedFile, ScannedImage
from frugalclip_host.data.split import Split

__all__ = ["REPORT_FORMAT_VERSION", "build_report", "compute_output_digest", "render_summary"]

REPORT_FORMAT_VERSION = 1

POLICIES = {
    "exact_duplicate": (
        "Same SHA-256 of the decoded RGB pixels (after EXIF orientation and RGB conversion, before "
        "resizing) within one class: the first file by path is kept, the others are dropped."
    ),
    "near_duplicate": (
        "64-bit perceptual hashes (imagehash.phash) at most near_duplicate_max_distance bits apart, "
        "confirmed by 16 x 16 RGB thumbnails (each channel shifted to zero mean) whose 99th-percentile "
        "cell difference is at most near_duplicate_max_color_difference 8-bit levels; phash matches "
        "that fail the colour check are listed under rejected_near_pairs and not linked. Within one "
        "class, near duplicates are all kept, and each group of linked images lands in one split."
    ),
    "label_conflict": (
        "A group of exact or near duplicates that spans several classes: every image of the group "
        "is dropped, because the right label is unknown."
    ),
    "output_format": (
        "JPEG and PNG files that needed no change are copied byte for byte; every other kept image "
        "is written as lossless PNG."
    ),
    "resize": (
        "The longer side is reduced to max_side_px unless the shorter side would fall below "
        "min_side_px; images are never upscaled, and images smaller than min_side_px are flagged."
    ),
    "split": (
        "Stratified by class with the seed; duplicate groups are never divided across splits; "
        "every split with a fraction > 0 gets at least one image per class."
    ),
}


def compute_output_digest(entries: list[tuple[str, str]]) -> str:
    """Return the SHA-256 over sorted "relative/output/path sha256" lines of the prepared files."""
    digest = hashlib.sha256()
    for relative_path, file_sha256 in sorted(entries):
        digest.update(f"{relative_path} {file_sha256}\n".encode("utf-8"))
    return digest.hexdigest()


def _dropped_entry(item: DroppedFile) -> dict[str, object]:
    return {"path": item.path, "class": item.class_name, "reason": item.reason.value, "detail": item.detail}


def build_report(
    *,
    source: Path,
    out_dir: Path,
    options: PrepareOptions,
    classes: list[str],
    files_per_class: dict[str, int],
    scanned: list[ScannedImage],
    dropped: list[DroppedFile],
    split_of: dict[int, Split],
    output_paths: dict[int, str],
    duplicate_groups: list[DuplicateGroup],
    rejected_near_pairs: list[NearPair],
    conflict_groups: list[DuplicateGroup],
) -> dict[str, object]:
    """Assemble the JSON-serialisable report; ``split_of`` and ``output_paths`` cover kept images."""
    kept_per_class = Counter(scanned[index].class_name for index in split_of)
    per_split = {
        split.value: {name: 0 for name in classes} for split in Split
    }
    for index, split in split_of.items():
        per_split[split.value][scanned[index].class_name] += 1

    changed = [
        {
            "path": scanned[index].path,
            "output": output_paths[index],
            "changes": [{"kind": c.kind.value, "detail": c.detail} for c in scanned[index].changes],
            "flags": [flag.value for flag in scanned[index].flags],
        }
        for index in sorted(split_of)
        if scanned[index].changes or scanned[index].flags
    ]

    def describe_pair(pair: NearPair) -> dict[str, object]:
        return {
            "a": scanned[pair.first].path,
            "b": scanned[pair.second].path,
            "distance_bits": pair.distance_bits,
            "color_difference": round(pair.color_difference, 2),
        }

    def describe_group(group: DuplicateGroup) -> dict[str, object]:
        return {
            "members": [{"path": scanned[i].path, "class": scanned[i].class_name} for i in group.members],
            "exact_sets": [[scanned[i].path for i in exact_set] for exact_set in group.exact_sets],
            "near_pairs": [describe_pair(pair) for pair in group.near_pairs],
            "classes": sorted({scanned[i].class_name for i in group.members}),
        }

    dropped_sorted = sorted(dropped, key=lambda item: item.path)
    digest_entries = [(output_paths[index], scanned[index].output_sha256) for index in split_of]

    return {
        "report_format_version": REPORT_FORMAT_VERSION,
        "tool": f"frugalclip prepare {__version__}",
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": str(source),
        "out_dir": str(out_dir),
        "options": options.to_dict(),
        "policies": POLICIES,
        "classes": classes,
        "counts": {
            "files_found": sum(files_per_class.values()) + sum(1 for d in dropped if d.class_name is None),
            "images_kept": len(split_of),
            "files_dropped": len(dropped),
            "images_changed": sum(1 for entry in changed if entry["changes"]),
            "images_flagged": sum(1 for entry in changed if entry["flags"]),
            "per_class_before": {name: files_per_class[name] for name in classes},
            "per_class_after": {name: kept_per_class.get(name, 0) for name in classes},
            "per_split": per_split,
            "dropped_by_reason": dict(sorted(Counter(d.reason.value for d in dropped).items())),
        },
        "dropped": [_dropped_entry(item) for item in dropped_sorted],
        "changed": changed,
        "duplicate_groups": [describe_group(group) for group in duplicate_groups],
        "label_conflicts": [describe_group(group) for group in conflict_groups],
        "rejected_near_pairs": [describe_pair(pair) for pair in rejected_near_pairs],
        "digest": {
            "algorithm": "sha256",
            "value": compute_output_digest(digest_entries),
            "covers": "sorted lines '<split>/<class>/<file> <file sha256>' of every prepared image",
        },
    }


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def render_summary(report: dict) -> str:
    """Return the Markdown version of a report built by :func:`build_report`."""
    counts = report["counts"]
    classes = report["classes"]
    per_split = counts["per_split"]
    dropped_per_class = Counter(item["class"] for item in report["dropped"])

    lines = [
        "# Data preparation report",
        "",
        f"- source: `{report['source']}`",
        f"- output: `{report['out_dir']}`",
        f"- created: {report['created_utc']} by {report['tool']}",
        f"- files found: {counts['files_found']}, images kept: {counts['images_kept']}, "
        f"files dropped: {counts['files_dropped']}, images changed: {counts['images_changed']}, "
        f"images flagged: {counts['images_flagged']}",
        f"- digest (sha256 of the prepared files): `{report['digest']['value']}`",
        "",
        "## Classes",
        "",
    ]
    rows = [
        [
            index,
            name,
            counts["per_class_before"][name],
            dropped_per_class.get(name, 0),
            counts["per_class_after"][name],
            per_split["train"][name],
            per_split["val"][name],
            per_split["test"][name],
        ]
        for index, name in enumerate(classes)
    ]
    lines += _table(["index", "class", "files", "dropped", "kept", "train", "val", "test"], rows)

    lines += ["", "## Options", ""]
    lines += _table(["option", "value"], [[key, value] for key, value in report["options"].items()])

    lines += ["", "## Policies", ""]
    lines += [f"- **{name}**: {text}" for name, text in report["policies"].items()]

    lines += ["", "## Dropped files", ""]
    if report["dropped"]:
        lines += _table(["reason", "count"], [[k, v] for k, v in counts["dropped_by_reason"].items()])
        lines.append("")
        lines += _table(
            ["file", "reason", "detail"],
            [[f"`{item['path']}`", item["reason"], item["detail"]] for item in report["dropped"]],
        )
    else:
        lines.append("None.")

    lines += ["", "## Label conflicts", ""]
    if report["label_conflicts"]:
        for group in report["label_conflicts"]:
            members = ", ".join(f"`{m['path']}`" for m in group["members"])
            lines.append(f"- classes {', '.join(group['classes'])}: {members}")
    else:
        lines.append("None.")

    change_counts = Counter(c["kind"] for entry in report["changed"] for c in entry["changes"])
    flag_counts = Counter(flag for entry in report["changed"] for flag in entry["flags"])
    lines += ["", "## Changed and flagged images", ""]
    if change_counts or flag_counts:
        rows = [[kind, count] for kind, count in sorted(change_counts.items())]
        rows += [[f"flag: {flag}", count] for flag, count in sorted(flag_counts.items())]
        lines += _table(["change", "images"], rows)
        lines += ["", "`data_report.json` lists each image under `changed`."]
    else:
        lines.append("None.")

    lines += ["", "## Perceptual-hash matches rejected by colour", ""]
    if report["rejected_near_pairs"]:
        lines += _table(
            ["a", "b", "phash distance (bits)", "colour difference (8-bit levels)"],
            [
                [f"`{pair['a']}`", f"`{pair['b']}`", pair["distance_bits"], pair["color_difference"]]
                for pair in report["rejected_near_pairs"]
            ],
        )
    else:
        lines.append("None.")

    near_groups = [g for g in report["duplicate_groups"] if len(set(g["classes"])) == 1]
    lines += ["", "## Duplicate groups within a class", ""]
    lines.append(
        f"{len(near_groups)} groups; each one lies in a single split. "
        "`data_report.json` lists their members under `duplicate_groups`."
    )
    return "\n".join(lines) + "\n"
