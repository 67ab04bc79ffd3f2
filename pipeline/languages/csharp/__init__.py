"""C#: ASP.NET Core services."""

from pipeline.languages.base import Grammar, Language
from pipeline.languages.csharp import toolchain
from pipeline.languages.csharp.aspnetcore import AspNetCoreFramework


class CSharpLanguage(Language):
    def service_env(self, port: int) -> dict[str, str]:
        # Kestrel listens where ASPNETCORE_URLS says, and on localhost:5000 without it.
        return {"ASPNETCORE_URLS": f"http://0.0.0.0:{port}"}

    def bind_everywhere(self, port: int) -> dict[str, str]:
        return self.service_env(port)


LANGUAGE = CSharpLanguage(
    name="csharp",
    build_cost=8,
    aliases=(),
    frameworks=(AspNetCoreFramework(),),
    toolchain=toolchain,
    grammars={"csharp": Grammar("tree_sitter_c_sharp")},
    suffixes={".cs": "csharp"},
    delegate_queries={
        "csharp": (
            "(method_declaration name: (identifier) @name) @def",
            "(invocation_expression function:"
            " [(identifier) @name (member_access_expression name: (identifier) @name)])",
        ),
    },
    dockerignore=("bin", "obj"),
    default_build="dotnet publish -c Release -o /app/publish",
    # dotnet build: `/app/Program.cs(12,5): error CS0103: The name 'x' does not exist`
    compile_error=r"^\S+\.cs\(\d+,\d+\): error CS\d+: .+$",
)
