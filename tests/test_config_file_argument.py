"""A service started with the configuration file the repository ships.

Servers that read their settings from a file named on the command line (blobstash's
`config.New(flag.Arg(0))`, a `-config` flag) do not start, or start without a setting they
need, when given none. The start command hands them the shipped file whose top-level keys are
the names their configuration type reads (languages/config_samples.py; Go's argument forms
in languages/go/runtime_hints.py), and the port the file sets is the one the service uses.
"""

from __future__ import annotations

import re
from pathlib import Path

import discovery_support as ds

from pipeline.languages import get_framework
from pipeline.languages.config_samples import configured_users, listen_value, shipped_config
from pipeline.languages.go.framework import BINARY
from pipeline.languages.go.project import GoProject, load_go_mod
from pipeline.languages.go.runtime_hints import env_reads

CONFIG_TYPE = """
package config

type User struct {
    ID       string `yaml:"id"`
    Password string `yaml:"password"`
}

type Config struct {
    Listen    string  `yaml:"listen"`
    SecretKey string  `yaml:"secret_key"`
    DataDir   string  `yaml:"data_dir"`
    Auth      []*User
}

func New(path string) (*Config, error) { return &Config{}, nil }
"""
SERVER = """
package main

import (
    "flag"
    "net/http"

    "example.com/svc/config"
)

func main() {
    flag.Parse()
    {reading}
    mux := http.NewServeMux()
    mux.HandleFunc("/api/ping", func(w http.ResponseWriter, r *http.Request) {})
    http.ListenAndServe(conf.Listen, mux)
}
"""
SAMPLE = "listen: ':8050'\nsecret_key: 'not so secret'\nauth:\n  - id: root\n    password: '123'\ndata_dir: 'data/'\n"
# A workflow is YAML too, but none of its keys is a name the configuration type reads.
WORKFLOW = "image: ubuntu/latest\npackages:\n  - python3\ntasks:\n  - test: go test ./...\n"


def _service(tmp_path: Path, reading: str, files: dict[str, str]) -> tuple[list[str], int]:
    go_files = {"config/config.go": CONFIG_TYPE, "main.go": SERVER.replace("{reading}", reading)}
    # The snippets are written with four spaces; Go indents with tabs (YAML may not).
    ds.write_files(
        tmp_path, go_files, lambda text: re.sub(r"(?m)^((?:    )+)", lambda m: "\t" * (len(m.group(1)) // 4), text)
    )
    root = ds.write_files(tmp_path, {"go.mod": "module example.com/svc\n\ngo 1.21\n", ".build.yml": WORKFLOW, **files})
    framework = get_framework("nethttp")
    hints = framework.runtime_hints(root, ds.service_of(framework, root))
    return hints.start_command, hints.port


def test_the_first_argument_given_to_a_config_loader_is_the_shipped_file(tmp_path: Path) -> None:
    reading = "conf, _ := config.New(flag.Arg(0))"
    command, port = _service(tmp_path, reading, {"tests/svc.yaml": SAMPLE})
    assert (command, port) == ([BINARY, "tests/svc.yaml"], 8050)


def test_a_config_flag_gets_the_shipped_file_and_the_port_it_sets(tmp_path: Path) -> None:
    reading = 'path := flag.String("config", "config.yaml", "the configuration")\n    conf, _ := config.New(*path)'
    command, port = _service(tmp_path, reading, {"examples/server.yaml": SAMPLE})
    assert (command, port) == ([BINARY, "-config", "examples/server.yaml"], 8050)


def test_a_pflag_config_flag_takes_two_dashes(tmp_path: Path) -> None:
    reading = (
        'var path string\n    cmd.Flags().StringVarP(&path, "config", "c", "", "the configuration")\n'
        "    conf, _ := config.New(path)"
    )
    command, _ = _service(tmp_path, reading, {"deploy/svc.yaml": SAMPLE})
    assert command == [BINARY, "--config", "deploy/svc.yaml"]


def test_nothing_is_added_when_the_flag_default_is_shipped_or_no_file_fits(tmp_path: Path) -> None:
    reading = 'path := flag.String("config", "config.yaml", "")\n    conf, _ := config.New(*path)'
    command, port = _service(tmp_path / "shipped", reading, {"config.yaml": SAMPLE})
    assert command == [BINARY]
    # Only the workflow is YAML: none of its keys is the configuration's.
    command, port = _service(tmp_path / "none", "conf, _ := config.New(flag.Arg(0))", {})
    assert (command, port) == ([BINARY], 8080)


def test_an_argument_that_is_not_a_configuration_adds_nothing(tmp_path: Path) -> None:
    reading = "conf := &config.Config{}\n    http.Get(flag.Arg(0))"
    command, _ = _service(tmp_path, reading, {"tests/svc.yaml": SAMPLE})
    assert command == [BINARY]


def test_the_sample_is_chosen_by_its_keys_then_its_name(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "a/other.yaml": "listen: ':1'\nsecret_key: x\n",
            "b/svc-config.yaml": "listen: ':2'\nsecret_key: y\n",
            "c/big.yaml": SAMPLE,
            "d/stray.yaml": "listen: ':3'\nunknown_key: z\n",
        },
    )
    keys = {"listen", "secret_key", "auth", "data_dir", "id", "password"}
    assert shipped_config(tmp_path, keys).path == "c/big.yaml"
    (tmp_path / "c" / "big.yaml").unlink()
    chosen = shipped_config(tmp_path, keys, program="svc")
    assert (chosen.path, listen_value(chosen)) == ("b/svc-config.yaml", ":2")
    assert configured_users({"auth": [{"id": "root", "password": 123}], "x": {"user": "u", "pass": "p"}}) == [
        ("root", "123"),
        ("", "123"),
        ("u", "p"),
        ("", "p"),
    ]


def test_an_env_read_only_used_when_set_needs_no_value(tmp_path: Path) -> None:
    # `if dir := os.Getenv("X"); dir != "" { return dir }` falls back when X is unset.
    ds.write_files(
        tmp_path,
        {
            "go.mod": "module example.com/svc\n\ngo 1.21\n",
            "main.go": (
                'package main\n\nimport "os"\n\nfunc dir() string {\n'
                '\tif dir := os.Getenv("SVC_DIR"); dir != "" {\n\t\treturn dir\n\t}\n\treturn "/tmp"\n}\n\n'
                'func main() {\n\tif v := os.Getenv("SVC_KEY"); true {\n\t\t_ = v\n\t}\n\t_ = dir()\n}\n'
            ),
        },
    )
    reads = env_reads(GoProject(tmp_path, load_go_mod(tmp_path)))
    assert reads == {"SVC_DIR": True, "SVC_KEY": False}
