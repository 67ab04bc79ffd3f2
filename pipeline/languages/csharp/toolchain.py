"""C#: the web project's csproj (TargetFramework, AssemblyName), restored before the source.

The .NET SDK and ASP.NET runtime images come from mcr.microsoft.com; Debian ships no
dotnet, so there is no local stand-in and these Dockerfiles are not buildable offline.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.languages.toolchain import Toolchain, existing, read_text, source_files

DEFAULT_VERSION = "8.0"
OFFICIAL = ["6.0", "7.0", "8.0", "9.0"]
PUBLISH = "/app/publish"


def _project(root: Path, entrypoint: str | None) -> Path | None:
    """The web project: the entrypoint's csproj, else the one with the Web SDK, else the first."""
    projects = source_files(root, ".csproj")
    if entrypoint:
        folder = (root / entrypoint).parent
        near = [p for p in projects if p.parent == folder]
        if near:
            return near[0]
    web = [p for p in projects if "Microsoft.NET.Sdk.Web" in read_text(p)]
    candidates = web or projects
    return min(candidates, key=lambda p: (len(p.relative_to(root).parts), p.as_posix())) if candidates else None


def detect(root: Path, *, offline: bool, entrypoint: str | None = None) -> Toolchain:
    notes: list[str] = []
    project = _project(root, entrypoint)
    csproj = read_text(project) if project else ""
    target = re.search(r"<TargetFrameworks?>\s*net(\d+\.\d+)", csproj)
    wanted = target.group(1) if target else None
    version = wanted if wanted in OFFICIAL else DEFAULT_VERSION
    if wanted and wanted not in OFFICIAL:
        notes.append(f"TargetFramework net{wanted} has no maintained image; the {version} SDK is used")
    assembly = re.search(r"<AssemblyName>\s*([^<\s]+)\s*</AssemblyName>", csproj)
    name = assembly.group(1) if assembly else (project.stem if project else "app")
    relative = project.relative_to(root).as_posix() if project else "app.csproj"
    if offline:
        notes.append(
            "offline: mcr.microsoft.com/dotnet images cannot be pulled and Debian ships no dotnet, "
            "so this Dockerfile cannot be built on this machine"
        )
    # Every project file (with its folder) is needed to restore a project that references others.
    projects = [p.relative_to(root).as_posix() for p in source_files(root, ".csproj")]
    manifests = existing(
        root, ["global.json", "NuGet.config", "nuget.config", "Directory.Build.props", "Directory.Packages.props"]
    ) + (projects or [relative])
    return Toolchain(
        language="csharp",
        language_version=version,
        version_source=f"{relative} TargetFramework" if wanted else None,
        package_manager="dotnet",
        manifests=manifests,
        install_command=f"dotnet restore {relative}",
        build_command=f"dotnet publish {relative} -c Release -o {PUBLISH} --no-restore",
        artifact=f"{PUBLISH}/{name}.dll",
        start_command=["dotnet", f"{name}.dll"],
        default_port=8080,
        base_image=f"mcr.microsoft.com/dotnet/sdk:{version}",
        runtime_image=f"mcr.microsoft.com/dotnet/aspnet:{version}",
        facts={"project": relative, "assembly": name, "publish_dir": PUBLISH},
        notes=notes,
    )
