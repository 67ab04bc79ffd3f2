"""ASP.NET Core discovery (controllers and minimal APIs), runtime hints and masking."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import discovery_support as ds
import pytest

from pipeline.languages import get_framework
from pipeline.languages.csharp.aspnetcore import group_join, route_join
from pipeline.models import Handler

FIXTURES = ds.FIXTURES
CATALOG = FIXTURES / "aspnetcore_catalog"
TODO = FIXTURES / "aspnetcore_todo"
DECOYS = {"Exists", "LegacyReport", "LegacyHidden", "LegacyBuild", "LegacyList", "CountItems", "MapTodoEndpoints"}
PROPERTIES = "<PropertyGroup><TargetFramework>net8.0</TargetFramework></PropertyGroup>"
WEB_CSPROJ = f'<Project Sdk="Microsoft.NET.Sdk.Web">{PROPERTIES}</Project>\n'
LIB_CSPROJ = f'<Project Sdk="Microsoft.NET.Sdk">{PROPERTIES}</Project>\n'


def _handler(root: Path, method: str, path: str) -> Handler:
    return next(e.handler for e in ds.discover("aspnetcore", root) if (e.method, e.path) == (method, path))


def _masked_definition(root: Path, handler: Handler) -> str:
    source = (root / handler.file).read_bytes()
    masked = get_framework("aspnetcore").mask_body(source, handler)
    end = handler.end_byte + len(masked) - len(source)
    return masked[handler.start_byte : end].decode()


# --------------------------------------------------------------------------- the fixtures


@pytest.mark.parametrize("root", [CATALOG, TODO], ids=["catalog", "todo"])
def test_detect_fixture_and_exclusivity(root: Path) -> None:
    ds.assert_detects_only("aspnetcore", root, "Program.cs")


def test_detects_nothing_in_other_fixtures() -> None:
    aspnet = get_framework("aspnetcore")
    for fixture in ("flask_todo", "express_books", "fastapi_notes", "spring_store"):
        assert aspnet.detect(FIXTURES / fixture) == [], fixture


@pytest.mark.parametrize("root", [CATALOG, TODO], ids=["catalog", "todo"])
def test_discover_matches_ground_truth(root: Path) -> None:
    ds.assert_matches_ground_truth("aspnetcore", root)


def test_handlers_resolve_across_files() -> None:
    assert _handler(CATALOG, "GET", "/api/Products/count").file == "Controllers/ApiControllerBase.cs"
    assert _handler(CATALOG, "GET", "/health").file == "Program.cs"
    assert _handler(TODO, "GET", "/api/todos").file == "Endpoints/TodoHandlers.cs"
    assert _handler(TODO, "PATCH", "/api/todos/{id:int}/done").file == "Endpoints/TodoEndpoints.cs"
    assert _handler(TODO, "GET", "/version").file == "Program.cs"


@pytest.mark.parametrize("root", [CATALOG, TODO], ids=["catalog", "todo"])
def test_handler_ranges_slice_to_function_and_body(root: Path) -> None:
    for endpoint, (_, definition, signature, body) in ds.endpoint_slices("aspnetcore", root):
        handler = endpoint.handler
        assert definition.rstrip(";").endswith(body)
        if handler.name == "<anonymous>":
            assert definition.startswith(("(", "async ")), definition[:20]
            assert signature.rstrip().endswith("=>")
        else:
            assert definition.startswith(("[", "public ", "static ")), definition[:20]
            assert f" {handler.name}(" in signature
            assert body.startswith("{") or signature.rstrip().endswith("=>")
        assert handler.name not in DECOYS


@pytest.mark.parametrize("root", [CATALOG, TODO], ids=["catalog", "todo"])
def test_decoys_are_not_reported(root: Path) -> None:
    endpoints = ds.discover("aspnetcore", root)
    assert not {e.handler.name for e in endpoints} & DECOYS
    assert not any(word in e.path.lower() for e in endpoints for word in ("legacy", "hidden", "reports"))


@pytest.mark.parametrize("root", [CATALOG, TODO], ids=["catalog", "todo"])
def test_masking_reparses_and_keeps_signatures(root: Path) -> None:
    aspnet = get_framework("aspnetcore")
    for endpoint in ds.discover("aspnetcore", root):
        handler = endpoint.handler
        source, masked = ds.mask_handler(aspnet, root, handler, "csharp")
        ds.assert_only_body_changed(source, masked, handler)
        assert b"501" in masked or b"NotImplementedException" in masked


def test_masking_forms_follow_the_return_type() -> None:
    # async Task<ActionResult<T>> in a ControllerBase subclass
    assert _masked_definition(CATALOG, _handler(CATALOG, "POST", "/api/Products")).endswith(
        "Create([FromBody] Product product)\n    {\n        return StatusCode(501);\n    }"
    )
    # expression-bodied IActionResult
    assert _masked_definition(CATALOG, _handler(CATALOG, "DELETE", "/api/Products/{id:int}")).endswith(
        "public IActionResult Delete(int id) => StatusCode(501);"
    )
    # IEnumerable<T> cannot hold a status: throw
    assert "throw new System.NotImplementedException();" in _masked_definition(
        CATALOG, _handler(CATALOG, "GET", "/api/featured")
    )
    # minimal API lambda with an expression body
    assert (
        _masked_definition(CATALOG, _handler(CATALOG, "GET", "/health"))
        == "() => Microsoft.AspNetCore.Http.Results.StatusCode(501)"
    )
    # typed results union: throw
    assert "throw new System.NotImplementedException();" in _masked_definition(
        TODO, _handler(TODO, "GET", "/api/todos/{id:int}")
    )
    # Task<IResult> without async: wrapped in Task.FromResult
    assert _masked_definition(TODO, _handler(TODO, "PUT", "/api/todos/{id:int}")).endswith(
        "=>\n        System.Threading.Tasks.Task.FromResult<IResult>("
        "Microsoft.AspNetCore.Http.Results.StatusCode(501));"
    )
    # block lambda keeps its parameters
    assert _masked_definition(TODO, _handler(TODO, "DELETE", "/api/admin/todos")) == (
        "(TodoStore store) =>\n{\n    return Microsoft.AspNetCore.Http.Results.StatusCode(501);\n}"
    )


def test_runtime_hints() -> None:
    aspnet = get_framework("aspnetcore")
    hints = aspnet.runtime_hints(CATALOG, ds.service_of("aspnetcore", CATALOG))
    assert hints.start_command == ["dotnet", "Catalog.Api.dll"]
    assert hints.port == 5080  # launchSettings.json
    # Catalog:PageSize is in appsettings.json, Catalog:Currency is not.
    assert hints.env == {"ASPNETCORE_URLS": "http://0.0.0.0:5080", "Catalog__Currency": "dummy-Catalog__Currency"}
    hints = aspnet.runtime_hints(TODO, ds.service_of("aspnetcore", TODO))
    assert hints.start_command == ["dotnet", "Todo.Api.dll"]  # <AssemblyName>
    assert hints.port == 5100  # appsettings.json Urls
    assert hints.env == {
        "ASPNETCORE_URLS": "http://0.0.0.0:5100",
        "TODO_SEED_TITLE": "dummy-TODO_SEED_TITLE",
        "Todo__Owner": "dummy-Todo__Owner",
    }


def test_joins() -> None:
    assert route_join("api/[controller]", None) == "api/[controller]"
    assert route_join("api/[controller]", "") == "api/[controller]"
    assert route_join("api/x/", "{id}") == "api/x/{id}"
    assert route_join("api/x", "~/abs") == "~/abs"
    assert group_join("/api", "/") == "/api"
    assert group_join("", "/") == "/"
    assert group_join("/api/", "items") == "/api/items"


# --------------------------------------------------------------------------- inline repositories


def test_controller_routing_rules(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "Web/Web.csproj": """
                <Project Sdk="Microsoft.NET.Sdk.Web">
                  <ItemGroup><ProjectReference Include="..\\Lib\\Lib.csproj" /></ItemGroup>
                </Project>
            """,
            "Web/Program.cs": """
                var app = WebApplication.CreateBuilder(args).Build();
                app.MapControllers();
                app.MapControllerRoute(name: "default", pattern: "{controller=Home}/{action=Index}/{id?}");
                app.MapAreaControllerRoute("admin", "Admin", "Admin/{controller}/{action=Index}");
                app.Run("http://0.0.0.0:5005");
            """,
            "Web/Routes.cs": """
                public static class Routes
                {
                    public const string Api = "api";
                    public static class V2 { public const string Base = $"{Api}/v2"; }
                }
            """,
            "Web/Controllers/ItemsController.cs": """
                [ApiController]
                [Route("[controller]s")]
                [Route(Routes.V2.Base + "/[controller]")]
                public class ItemController : ControllerBase
                {
                    [HttpGet]
                    [HttpPost("bulk")]
                    public IActionResult Both() => Ok();

                    [Route("[action]/{id:guid}")]
                    [HttpGet, HttpDelete]
                    public IActionResult ByGuidAsync(Guid id) => Ok();

                    [HttpPut("/absolute/{id}")]
                    [ActionName("Renamed")]
                    public IActionResult Put(int id) => Ok();

                    public IActionResult NoAttributes() => Ok();

                    private IActionResult Helper() => Ok();
                }
            """,
            "Web/Controllers/HomeController.cs": """
                public class HomeController : Controller
                {
                    public IActionResult Index() => View();

                    [HttpPost]
                    public IActionResult Save(int id) => View();

                    [NonAction]
                    public void Helper() {}
                }

                [Area("Admin")]
                public class DashboardController : Controller
                {
                    public IActionResult Index() => View();
                }

                [Controller]
                public class Poco
                {
                    [HttpGet("poco")]
                    public string Get() => "poco";
                }

                [NonController]
                public class SkippedController : ControllerBase
                {
                    [HttpGet("skipped")]
                    public string Get() => "no";
                }
            """,
            "Lib/Lib.csproj": LIB_CSPROJ,
            "Lib/ExternalController.cs": """
                [Route("ext")]
                public class ExternalController : Microsoft.AspNetCore.Mvc.ControllerBase
                {
                    [HttpGet("{id}")]
                    public virtual System.Threading.Tasks.Task<IActionResult> Get(int id) => null!;
                }
            """,
            "Other/Other.csproj": LIB_CSPROJ,
            "Other/UnreferencedController.cs": """
                [Route("unreferenced")]
                public class UnreferencedController : ControllerBase { [HttpGet] public string Get() => ""; }
            """,
        },
    )
    aspnet = get_framework("aspnetcore")
    services = aspnet.detect(tmp_path)
    assert [(s.root, s.entrypoint) for s in services] == [((tmp_path / "Web").resolve(), "Program.cs")]
    endpoints = aspnet.discover(tmp_path, services[0])
    assert ds.pairs(endpoints) == {
        ("GET", "/Items"),
        ("GET", "/api/v2/Item"),
        ("POST", "/Items/bulk"),
        ("POST", "/api/v2/Item/bulk"),
        ("GET", "/Items/ByGuid/{id:guid}"),
        ("DELETE", "/Items/ByGuid/{id:guid}"),
        ("GET", "/api/v2/Item/ByGuid/{id:guid}"),
        ("DELETE", "/api/v2/Item/ByGuid/{id:guid}"),
        ("PUT", "/absolute/{id}"),
        ("ANY", "/Items"),
        ("ANY", "/api/v2/Item"),
        # conventional routes
        ("ANY", "/Home/Index/{id?}"),
        ("POST", "/Home/Save/{id?}"),
        ("ANY", "/Admin/Dashboard/Index"),
        ("GET", "/poco"),
        # referenced class library
        ("GET", "/ext/{id}"),
    }
    by_key = ds.by_key(endpoints)
    assert by_key[("ANY", "/Items")].name == "NoAttributes"
    assert by_key[("GET", "/ext/{id}")].file == "Lib/ExternalController.cs"
    assert aspnet.runtime_hints(tmp_path, services[0]).port == 5005
    masked = _masked_definition(tmp_path, by_key[("GET", "/ext/{id}")])
    assert masked.endswith("=> System.Threading.Tasks.Task.FromResult<IActionResult>(StatusCode(501));")


def test_minimal_api_groups_helpers_and_startup(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "Api/Api.csproj": WEB_CSPROJ,
            "Api/Program.cs": """
                var builder = WebApplication.CreateBuilder(args);
                var app = builder.Build();
                var v1 = app.MapGroup("/api").MapGroup("v1");
                var users = v1.MapGroup("/users").RequireAuthorization();
                users.MapGet("{id}", GetUser);
                users.MapMethods("/{id}/flags", ["PUT", "PATCH"], (int id) => Results.Ok());
                Routes.Register(v1);
                app.Map("/branch", branch => branch.Run(async ctx => await ctx.Response.WriteAsync("x")));
                app.MapPost("/delegate", delegate (int x) { return Results.Ok(); });
                app.Run();

                static async Task<IResult> GetUser(int id) { await Task.Yield(); return Results.Ok(id); }
            """,
            "Api/Routes.cs": """
                public static class Routes
                {
                    public static void Register(IEndpointRouteBuilder routes)
                    {
                        routes.MapDelete("/things/{id}", Handlers.Remove);
                        routes.MapGet("/things", (Handlers h) => h.ToString());
                    }

                    public static void Unused(IEndpointRouteBuilder routes)
                    {
                        routes.MapGet("/unused", () => "no");
                    }
                }

                public class Handlers
                {
                    public static IResult Remove(int id) => Results.NoContent();
                }
            """,
            "Legacy/Legacy.csproj": WEB_CSPROJ,
            "Legacy/Startup.cs": """
                public class Startup
                {
                    public void Configure(IApplicationBuilder app)
                    {
                        app.UseRouting();
                        app.UseEndpoints(endpoints =>
                        {
                            endpoints.MapGet("/hello", async context => await context.Response.WriteAsync("hi"));
                            endpoints.MapControllers();
                        });
                    }
                }
            """,
            "Legacy/Broken.cs": "public class Broken { void X( { }\n",
            "Legacy/obj/Debug/Generated.cs": '[Route("generated")] public class GenController : ControllerBase {}\n',
        },
    )
    aspnet = get_framework("aspnetcore")
    services = aspnet.detect(tmp_path)
    assert [(s.root, s.entrypoint) for s in services] == [
        ((tmp_path / "Api").resolve(), "Program.cs"),
        ((tmp_path / "Legacy").resolve(), "Startup.cs"),
    ]
    endpoints = aspnet.discover(tmp_path, services[0])
    assert ds.pairs(endpoints) == {
        ("GET", "/api/v1/users/{id}"),
        ("PUT", "/api/v1/users/{id}/flags"),
        ("PATCH", "/api/v1/users/{id}/flags"),
        ("DELETE", "/api/v1/things/{id}"),
        ("GET", "/api/v1/things"),
        ("POST", "/delegate"),
    }
    by_key = ds.by_key(endpoints)
    assert by_key[("GET", "/api/v1/users/{id}")].name == "GetUser"
    assert by_key[("DELETE", "/api/v1/things/{id}")].name == "Remove"
    assert by_key[("DELETE", "/api/v1/things/{id}")].file == "Api/Routes.cs"
    assert _masked_definition(tmp_path, by_key[("GET", "/api/v1/users/{id}")]).endswith(
        "GetUser(int id) {\n    return Microsoft.AspNetCore.Http.Results.StatusCode(501);\n}"
    )
    assert _masked_definition(tmp_path, by_key[("POST", "/delegate")]).startswith("delegate (int x) {")
    assert aspnet.runtime_hints(tmp_path, services[0]).port == 8080
    assert aspnet.runtime_hints(tmp_path, services[0]).start_command == ["dotnet", "Api.dll"]
    assert ds.pairs(aspnet.discover(tmp_path, services[1])) == {("GET", "/hello")}


def test_unparseable_file_is_skipped_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shutil.copytree(CATALOG, tmp_path / "catalog")
    (tmp_path / "catalog/Controllers/Broken.cs").write_text("public class BrokenController { void X( { }\n")
    caplog.set_level(logging.WARNING)
    assert len(ds.discover("aspnetcore", tmp_path / "catalog")) == 15
    assert "Broken.cs" in caplog.text


def test_non_web_and_odd_projects_are_not_services(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "Lib/Lib.csproj": LIB_CSPROJ,
            "Bad/Bad.csproj": '<Project Sdk="Microsoft.NET.Sdk.Web"',
            "Web/bin/Release/Copy.csproj": WEB_CSPROJ,
        },
    )
    assert get_framework("aspnetcore").detect(tmp_path) == []
