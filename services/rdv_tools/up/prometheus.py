"""A real Prometheus beside `rdv up`: the binary (on the PATH, or Debian's package unpacked into
the cache without root), and ops/prometheus.yml rewritten to scrape the local ports."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from rdv.paths import cache_dir, ops_file
from rdv_tools.cache_lock import cache_lock

SCRAPE_INTERVAL = "2s"  # the demo's steps last seconds; 2 s scrapes show them


def cached_binary() -> Path:
    return cache_dir() / "prometheus" / "usr" / "bin" / "prometheus"


def find_binary(fetch: bool = True) -> Path | None:
    """`prometheus` from the PATH or the cache; with `fetch`, Debian's package downloaded
    (`apt-get download`, no root needed) and unpacked into the cache. None if neither works."""
    with cache_lock("prometheus"):
        return _find_binary(fetch)


def _find_binary(fetch: bool) -> Path | None:
    on_path = shutil.which("prometheus")
    if on_path:
        return Path(on_path)
    if cached_binary().exists():
        return cached_binary()
    if not fetch or not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        return None
    root = cached_binary().parent.parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        download = subprocess.run(
            ["apt-get", "download", "prometheus"], cwd=tmp, capture_output=True, check=False
        )
        debs = list(Path(tmp).glob("prometheus_*.deb"))
        if download.returncode != 0 or not debs:
            return None
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(root)], check=True)
    return cached_binary() if cached_binary().exists() else None


def local_config(directory: Path, ports: dict[str, list[int]]) -> Path:
    """ops/prometheus.yml with each service's targets replaced by 127.0.0.1 and its local
    ports (one per replica); services not running locally are left out. Returns the file."""
    config: dict[str, Any] = yaml.safe_load(ops_file("prometheus.yml").read_text())
    config["global"]["scrape_interval"] = SCRAPE_INTERVAL
    config["global"]["evaluation_interval"] = SCRAPE_INTERVAL
    for job in config["scrape_configs"]:
        services = [g["labels"]["service"] for g in job.pop("static_configs", [])]
        for discovered in job.pop("dns_sd_configs", []):
            services += discovered["names"]
        # The compose file's relabelling names services by DNS name, which has no local meaning.
        job.pop("relabel_configs", None)
        job["static_configs"] = [
            {
                "targets": [f"127.0.0.1:{port}" for port in ports[service]],
                "labels": {"service": service},
            }
            for service in services
            if service in ports
        ]
    config["scrape_configs"] = [job for job in config["scrape_configs"] if job["static_configs"]]
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ops_file("prometheus-rules.yml"), directory / "prometheus-rules.yml")
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def command(binary: Path, config: Path, port: int) -> list[str]:
    return [
        str(binary),
        f"--config.file={config}",
        f"--storage.tsdb.path={config.parent / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=2d",
    ]
