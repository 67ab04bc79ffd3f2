"""Spring Boot discovery, runtime hints and masking, against hand-written ground truth."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import discovery_support as ds
import pytest

from pipeline.languages import get_framework
from pipeline.languages.java.spring import MASK_STATEMENT, spring_join
from pipeline.languages.java.toolchain import NOT_THE_APP_JAR

FIXTURES = ds.FIXTURES
STORE = FIXTURES / "spring_store"
DECOYS = {"legacyListProducts", "search", "testOnly", "size"}
WEB_POM = """
    <project xmlns="http://maven.apache.org/POM/4.0.0">
      <modelVersion>4.0.0</modelVersion>
      <artifactId>{artifact}</artifactId>
      <version>1.0</version>
      <dependencies>
        <dependency><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-web</artifactId></dependency>
      </dependencies>
    </project>
"""
APP = """
    package demo;

    import org.springframework.boot.autoconfigure.SpringBootApplication;

    @SpringBootApplication
    public class DemoApplication {
        public static void main(String[] args) {}
    }
"""


# --------------------------------------------------------------------------- the fixture


def test_detect_fixture_and_exclusivity() -> None:
    ds.assert_detects_only("spring", STORE, "src/main/java/com/example/store/StoreApplication.java")
    spring = get_framework("spring")
    for fixture in ("flask_todo", "express_books", "fastapi_notes", "aspnetcore_catalog", "aspnetcore_todo"):
        if (FIXTURES / fixture).is_dir():
            assert spring.detect(FIXTURES / fixture) == [], fixture


def test_discover_matches_ground_truth() -> None:
    _, truth = ds.assert_matches_ground_truth("spring", STORE)
    assert len(truth) == 16


def test_handlers_resolve_across_files_and_inheritance() -> None:
    by_key = ds.by_key(ds.discover("spring", STORE))
    base = "src/main/java/com/example/store"
    # The mapping is on the base class; the body too.
    assert by_key[("GET", "/store/api/products/count")].file == f"{base}/api/BaseController.java"
    # The mapping is on the interface; the body is the controller's override.
    assert by_key[("GET", "/store/api/orders/{orderId}")].file == f"{base}/order/OrderController.java"
    assert by_key[("GET", "/store/api/v1/orders/{orderId}")] == by_key[("GET", "/store/api/orders/{orderId}")]
    assert by_key[("GET", "/store/ping")].file == f"{base}/status/StatusController.java"


def test_handler_ranges_slice_to_method_and_body() -> None:
    for endpoint, (_, definition, signature, body) in ds.endpoint_slices("spring", STORE):
        handler = endpoint.handler
        assert definition.startswith("@"), definition[:30]
        assert definition.endswith(body)
        assert body.startswith("{") and body.endswith("}")
        assert f" {handler.name}(" in signature


def test_decoys_are_not_reported() -> None:
    endpoints = ds.discover("spring", STORE)
    assert not {e.handler.name for e in endpoints} & DECOYS
    assert not any("legacy" in e.path or "test-only" in e.path for e in endpoints)


def test_masking_keeps_signature_and_reparses() -> None:
    spring = get_framework("spring")
    for endpoint in ds.discover("spring", STORE):
        handler = endpoint.handler
        source, masked = ds.mask_handler(spring, STORE, handler, "java")
        ds.assert_only_body_changed(source, masked, handler)
        assert masked[handler.body_start_byte :].startswith(b"{\n")
        assert MASK_STATEMENT.encode() in masked
    update = next(e.handler for e in ds.discover("spring", STORE) if e.handler.name == "update")
    source = (STORE / update.file).read_bytes()
    masked = spring.mask_body(source, update).decode()
    assert (
        "    public ResponseEntity<Product> update(@PathVariable long id, @RequestBody Product product) {\n"
        f"        {MASK_STATEMENT}\n"
        "    }\n"
    ) in masked
    assert "service.save(new Product(id" not in masked


def test_mask_rejects_a_range_that_is_not_a_body() -> None:
    spring = get_framework("spring")
    handler = ds.discover("spring", STORE)[0].handler
    source = (STORE / handler.file).read_bytes()
    with pytest.raises(ValueError, match="no method body"):
        spring.mask_body(source, handler.model_copy(update={"body_start_byte": handler.body_start_byte + 1}))


def test_runtime_hints() -> None:
    hints = get_framework("spring").runtime_hints(STORE, ds.service_of("spring", STORE))
    assert hints.start_command == [
        "java",
        "-jar",
        "target/store-0.1.0.jar",
        "--server.address=0.0.0.0",
        "--server.port=8081",
    ]
    assert hints.port == 8081
    # STORE_REGION is read without a null check; store.page-size is defined in the properties.
    assert hints.env == {"STORE_REGION": "dummy-STORE_REGION"}
    assert hints.extra_packages == []


def test_spring_join() -> None:
    assert spring_join("", "", "/api/x", "") == "/api/x"
    assert spring_join("/ctx/", "", "api", "{id}") == "/ctx/api/{id}"
    assert spring_join("/", "", "", "") == "/"
    assert spring_join("", "", "", "") == "/"


# --------------------------------------------------------------------------- inline repositories


def test_multi_module_build_and_constants_across_classes(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "pom.xml": """
                <project xmlns="http://maven.apache.org/POM/4.0.0">
                  <artifactId>parent</artifactId>
                  <packaging>pom</packaging>
                  <modules><module>app</module><module>web</module><module>tools</module></modules>
                  <dependencyManagement><dependencies>
                    <dependency><artifactId>spring-boot-starter-web</artifactId></dependency>
                  </dependencies></dependencyManagement>
                </project>
            """,
            "app/pom.xml": """
                <project xmlns="http://maven.apache.org/POM/4.0.0">
                  <artifactId>demo-app</artifactId>
                  <version>${revision}</version>
                  <dependencies><dependency><artifactId>demo-web</artifactId></dependency></dependencies>
                </project>
            """,
            "app/src/main/java/demo/DemoApplication.java": APP,
            "app/src/main/resources/application.yml": """
                server:
                  port: ${PORT:9090}
                  servlet:
                    context-path: /ctx
                spring:
                  mvc:
                    servlet:
                      path: /mvc
                app:
                  name: demo
                ---
                spring:
                  config:
                    activate:
                      on-profile: dev
                server:
                  servlet:
                    context-path: /dev
            """,
            "web/pom.xml": WEB_POM.format(artifact="demo-web"),
            "web/src/main/java/demo/web/Paths.java": """
                package demo.web;

                public interface Paths {
                    String ROOT = "/api";
                    String USERS = ROOT + "/users";
                    final class Admin {
                        public static final String BASE = ROOT + "/admin";
                    }
                }
            """,
            "web/src/main/java/demo/web/UserController.java": """
                package demo.web;

                import static demo.web.Paths.USERS;

                import org.springframework.beans.factory.annotation.Value;
                import org.springframework.web.bind.annotation.*;

                @RestController
                @RequestMapping(path = USERS)
                public class UserController {
                    private static final String ONE = "/{id}";

                    @Value("${app.name}") String name;
                    @Value("${jwt.secret-key}") String secret;
                    @Value("${optional.flag:false}") boolean flag;

                    @GetMapping({"", "/all"})
                    public String list() { return System.getenv("HOME_DIR") != null ? "a" : "b"; }

                    @RequestMapping(value = ONE)
                    public String any(@PathVariable String id) { return System.getenv("DB_URL"); }

                    @RequestMapping(path = ONE + "/roles", method = {RequestMethod.PUT, RequestMethod.PATCH})
                    public void roles() {}

                    @org.springframework.web.bind.annotation.DeleteMapping(value = ONE)
                    public void remove() {}
                }
            """,
            "web/src/main/java/demo/web/AdminController.java": """
                package demo.web;

                import org.springframework.web.bind.annotation.*;

                @RestController
                @RequestMapping(value = Paths.Admin.BASE, method = RequestMethod.POST)
                class AdminController {
                    @GetMapping("/stats")
                    String stats() { return ""; }

                    @RequestMapping("/reset")
                    String reset() { return ""; }

                    public static String helper() { return ""; }
                }
            """,
            "tools/pom.xml": """
                <project xmlns="http://maven.apache.org/POM/4.0.0"><artifactId>tools</artifactId></project>
            """,
            "tools/src/main/java/demo/tools/ToolController.java": """
                package demo.tools;

                @org.springframework.web.bind.annotation.RestController
                public class ToolController {
                    @org.springframework.web.bind.annotation.GetMapping("/tool")
                    public String tool() { return ""; }
                }
            """,
        },
    )
    spring = get_framework("spring")
    services = spring.detect(tmp_path)
    # The app needs its sibling module demo-web, which no remote repository has: Maven builds
    # it from the aggregator (`-pl app -am`), so the aggregator's folder is the service root.
    assert [(s.root, s.entrypoint) for s in services] == [
        (tmp_path.resolve(), "app/src/main/java/demo/DemoApplication.java")
    ]
    endpoints = spring.discover(tmp_path, services[0])
    assert ds.pairs(endpoints) == {
        ("GET", "/ctx/mvc/api/users"),
        ("GET", "/ctx/mvc/api/users/all"),
        ("ANY", "/ctx/mvc/api/users/{id}"),
        ("DELETE", "/ctx/mvc/api/users/{id}"),
        ("PUT", "/ctx/mvc/api/users/{id}/roles"),
        ("PATCH", "/ctx/mvc/api/users/{id}/roles"),
        # A type-level method restriction joins the method-level one.
        ("GET", "/ctx/mvc/api/admin/stats"),
        ("POST", "/ctx/mvc/api/admin/stats"),
        ("POST", "/ctx/mvc/api/admin/reset"),
    }
    assert {e.handler.file for e in endpoints} == {
        "web/src/main/java/demo/web/UserController.java",
        "web/src/main/java/demo/web/AdminController.java",
    }
    hints = spring.runtime_hints(tmp_path, services[0])
    assert hints.port == 9090
    # ${revision} is not resolvable statically: the jar is found at start.
    assert hints.start_command[:2] == ["sh", "-c"]
    assert "ls app/target/*.jar" in hints.start_command[2]
    assert hints.start_command[2].endswith("--server.address=0.0.0.0 --server.port=9090")
    assert hints.env == {"DB_URL": "dummy-DB_URL", "JWT_SECRETKEY": "dummy-JWT_SECRETKEY"}


def test_jar_named_by_a_parent_pom_is_found_at_start(tmp_path: Path) -> None:
    """<finalName> is inherited: a module whose parent is a pom of the repository has its jar
    found at start, not named from its artifactId and version."""
    ds.write_files(
        tmp_path,
        {
            "pom.xml": """
                <project xmlns="http://maven.apache.org/POM/4.0.0">
                  <artifactId>top</artifactId><version>1.0</version>
                  <modules><module>svc</module></modules>
                  <build><finalName>${project.artifactId}</finalName></build>
                </project>
            """,
            "svc/pom.xml": """
                <project xmlns="http://maven.apache.org/POM/4.0.0">
                  <parent><artifactId>top</artifactId><version>1.0</version></parent>
                  <artifactId>svc</artifactId>
                  <dependencies><dependency><artifactId>spring-boot-starter-web</artifactId></dependency></dependencies>
                </project>
            """,
            "svc/src/main/java/demo/DemoApplication.java": APP,
        },
    )
    spring = get_framework("spring")
    [service] = spring.detect(tmp_path)
    assert (service.root, service.entrypoint) == (tmp_path.resolve(), "svc/src/main/java/demo/DemoApplication.java")
    command = spring.runtime_hints(tmp_path, service).start_command
    assert command[:2] == ["sh", "-c"] and '"$(ls svc/target/*.jar ' in command[2], command


def test_other_data_sources_follow_the_sidecar(tmp_path: Path) -> None:
    """A pool configured under its own keys (in any profile's file) is pointed at the data
    source a database sidecar sets, keeping its own value where no sidecar sets one."""
    ds.write_files(
        tmp_path,
        {
            "pom.xml": WEB_POM.format(artifact="svc"),
            "src/main/java/demo/DemoApplication.java": APP,
            "src/main/resources/application.properties": "spring.datasource.url=jdbc:h2:mem:x\n",
            "src/main/resources/application-dev.yml": """
                spring:
                  datasource:
                    pool:
                      primary:
                        url: jdbc:mysql://localhost:3306/shop?useSSL=false
                        username: root
                        password: secret
                      replica:
                        url: ""
            """,
        },
    )
    spring = get_framework("spring")
    [service] = spring.detect(tmp_path)
    command = spring.runtime_hints(tmp_path, service).start_command
    assert command[:3] == ["java", "-jar", "target/svc-1.0.jar"]
    assert command[5:] == [
        "--spring.datasource.pool.primary.url=${SPRING_DATASOURCE_URL:jdbc:mysql://localhost:3306/shop?useSSL=false}",
        "--spring.datasource.pool.primary.username=${SPRING_DATASOURCE_USERNAME:root}",
        "--spring.datasource.pool.primary.password=${SPRING_DATASOURCE_PASSWORD:secret}",
    ]


def test_request_body_fields_are_the_bound_class_fields(tmp_path: Path) -> None:
    """@RequestBody binds a class of the repository: its instance fields (a base class's
    too, a record's components) by their JSON names, required when validated; no field of
    a type no sample value parses as (a date, an enum), none Jackson ignores. A map or a
    JSONObject: the keys the handler reads from it with a literal, typed by the getter or
    by the map's value type."""
    ds.write_files(
        tmp_path,
        {
            "pom.xml": WEB_POM.format(artifact="svc"),
            "src/main/java/demo/DemoApplication.java": APP,
            "src/main/java/demo/Dto.java": """
                package demo;

                import com.fasterxml.jackson.annotation.*;
                import jakarta.validation.constraints.NotBlank;

                class Base { protected Long ownerId; }

                enum Color { RED }

                public class Dto extends Base {
                    public static final String KIND = "dto";
                    @NotBlank private String title;
                    @JsonProperty("unit_price") private java.math.BigDecimal price;
                    private java.util.List<String> tags;
                    private int[] scores;
                    private Nested nested;
                    private Color color;
                    private java.time.LocalDateTime createdAt;
                    @JsonIgnore private String secret;
                }

                class Nested { String a; }

                record Pair(String left, @NotBlank String right) {}
            """,
            "src/main/java/demo/Api.java": """
                package demo;

                import org.springframework.web.bind.annotation.*;

                @RestController
                class Api {
                    @PostMapping("/dto")
                    String create(@RequestBody @jakarta.validation.Valid Dto dto) { return ""; }

                    @PutMapping("/pair")
                    String pair(@PathVariable String id, @RequestBody Pair pair) { return ""; }

                    @PostMapping("/raw")
                    String raw(@RequestBody java.util.Map<String, Object> body) { return ""; }

                    // new-bee's login: a map, and the keys the handler reads from it
                    @PostMapping("/login")
                    String login(@RequestBody Map<String, String> param) {
                        String token = param.getOrDefault("token", null);
                        return param.get("user") + token + other.get("not-the-body");
                    }

                    @PostMapping("/json")
                    String json(@RequestBody JSONObject json) {
                        return json.getString("name") + json.getInteger("age") + json.get("extra") + json.get(KEY);
                    }
                }
            """,
        },
    )
    spring = get_framework("spring")
    [service] = spring.detect(tmp_path)
    fields = {e.path: [(f.name, f.type, f.required) for f in e.body_fields] for e in spring.discover(tmp_path, service)}
    assert fields == {
        "/dto": [
            ("title", "str", True),
            ("unit_price", "float", False),
            ("tags", "list", False),
            ("scores", "list", False),
            ("nested", "dict", False),
            ("ownerId", "int", False),
        ],
        "/pair": [("left", "str", False), ("right", "str", True)],
        "/raw": [],
        "/login": [("token", "str", False), ("user", "str", False)],
        "/json": [("name", "str", False), ("age", "int", False), ("extra", "any", False)],
    }


def test_a_class_bound_from_the_query_gives_its_simple_fields_as_parameters(tmp_path: Path) -> None:
    """A search handler that takes a class of the repository without @RequestBody
    (`searchEmojis(SearchEmojisRequest request)`, a real repository's) is bound from the query
    string: its simple fields are optional query parameters. Before, its searches sent no
    filter, and a stand-in that answers one recorded page passed the tests."""
    ds.write_files(
        tmp_path,
        {
            "pom.xml": WEB_POM.format(artifact="svc"),
            "src/main/java/demo/DemoApplication.java": APP,
            "src/main/java/demo/Search.java": """
                package demo;

                class PageRequest { protected int pageNum = 1; protected int pageSize = 10; }

                public class Search extends PageRequest {
                    private String name;
                    private Integer reviewStatus;
                    private java.util.List<String> tags;
                    private java.time.LocalDate after;
                }

                enum Kind { A }

                @interface LoginUser {}
            """,
            "src/main/java/demo/Api.java": """
                package demo;

                import org.springframework.web.bind.annotation.*;

                @RestController
                class Api {
                    @GetMapping("/search")
                    String search(@jakarta.validation.Valid Search search) { return ""; }

                    @GetMapping("/model")
                    String model(@ModelAttribute Search search, @RequestParam String q) { return ""; }

                    @GetMapping("/mine")
                    String mine(@LoginUser Search current) { return ""; }

                    @GetMapping("/kind")
                    String kind(Kind kind) { return ""; }
                }
            """,
        },
    )
    spring = get_framework("spring")
    [service] = spring.detect(tmp_path)
    endpoints = spring.discover(tmp_path, service)
    query = {e.path: [(f.name, f.type, f.required) for f in e.query_fields] for e in endpoints}
    page = [
        ("name", "str", False),
        ("reviewStatus", "int", False),
        ("pageNum", "int", False),
        ("pageSize", "int", False),
    ]
    assert query == {"/search": page, "/model": [*page, ("q", "str", True)], "/mine": [], "/kind": []}


def test_keys_the_active_profile_defines_need_no_env_var(tmp_path: Path) -> None:
    """`@Value("${x}")` for a key only application-dev.yml defines, with `dev` active: no
    dummy variable (it would override the value, e.g. a driver class that then fails to
    load); a key no active profile defines still gets one."""
    ds.write_files(
        tmp_path,
        {
            "pom.xml": WEB_POM.format(artifact="svc"),
            "src/main/java/demo/DemoApplication.java": APP,
            "src/main/resources/application.yml": "spring:\n  profiles:\n    active: dev\n",
            "src/main/resources/application-dev.yml": "spring:\n  datasource:\n    driverClassName: org.h2.Driver\n",
            "src/main/resources/application-prod.yml": "app:\n  token: abc\n",
            "src/main/java/demo/Config.java": """
                package demo;

                import org.springframework.beans.factory.annotation.Value;

                class Config {
                    @Value("${spring.datasource.driverClassName}") String driver;
                    @Value("${app.token}") String token;
                }
            """,
        },
    )
    spring = get_framework("spring")
    [service] = spring.detect(tmp_path)
    assert spring.runtime_hints(tmp_path, service).env == {"APP_TOKEN": "dummy-APP_TOKEN"}


def test_gradle_services_and_builds_without_web(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "svc-a/build.gradle.kts": """
                plugins { id("org.springframework.boot") version "3.2.0" }
                java { toolchain { languageVersion = JavaLanguageVersion.of(21) } }
                dependencies {
                    implementation("org.springframework.boot:spring-boot-starter-web")
                    // implementation("org.springframework.boot:spring-boot-starter-webflux")
                }
            """,
            "svc-a/src/main/java/demo/DemoApplication.java": APP,
            "svc-a/src/main/java/demo/Hello.java": """
                package demo;

                @org.springframework.web.bind.annotation.RestController
                public class Hello {
                    @org.springframework.web.bind.annotation.GetMapping
                    public String hello() { return "hi"; }
                }
            """,
            "svc-a/src/main/java/demo/Generated.java": """
                package demo;

                import org.springframework.web.bind.annotation.*;

                @RestController
                @RequestMapping("${openapi.base-path:/v2}")
                public class Generated {
                    @GetMapping("/pets/{petId}")
                    public String pet() { return "pet"; }
                }
            """,
            "svc-b/build.gradle": """
                dependencies {
                    implementation 'org.springframework.boot:spring-boot-starter'
                }
            """,
            "svc-b/src/main/java/demo/DemoApplication.java": APP,
            "svc-c/pom.xml": WEB_POM.format(artifact="svc-c"),
            "svc-c/src/main/java/demo/DemoApplication.java": APP,
            "svc-c/src/main/java/demo/Broken.java": "public class Broken { void x( { }\n",
            "svc-c/src/main/java/demo/Ok.java": """
                package demo;

                import org.springframework.web.bind.annotation.*;

                @Controller
                public class Ok {
                    @PostMapping(path = {"/a", "b"})
                    public String ok() { return "ok"; }
                }
            """,
        },
    )
    spring = get_framework("spring")
    services = spring.detect(tmp_path)
    assert [s.root for s in services] == [(tmp_path / "svc-a").resolve(), (tmp_path / "svc-c").resolve()]
    assert ds.pairs(spring.discover(tmp_path, services[0])) == {("GET", "/"), ("GET", "/v2/pets/{petId}")}
    hints = spring.runtime_hints(tmp_path, services[0])
    assert hints.port == 8080
    assert hints.start_command == [
        "sh",
        "-c",
        f'exec java -jar "$(ls build/libs/*.jar target/*.jar 2>/dev/null | {NOT_THE_APP_JAR} | head -n 1)" '
        "--server.address=0.0.0.0 --server.port=8080",
    ]
    assert spring.runtime_hints(tmp_path, services[1]).start_command[2] == "target/svc-c-1.0.jar"


def test_unparseable_file_is_skipped_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shutil.copytree(STORE, tmp_path / "store")
    broken = tmp_path / "store/src/main/java/com/example/store/Broken.java"
    broken.write_text("@RestController public class Broken { @GetMapping void x( { }\n")
    caplog.set_level(logging.WARNING)
    endpoints = ds.discover("spring", tmp_path / "store")
    assert len(endpoints) == 16
    assert "Broken.java" in caplog.text


def test_odd_build_files_do_not_crash(tmp_path: Path) -> None:
    ds.write_files(tmp_path, {"pom.xml": "<project><dependencies>", "a/build.gradle": "\x01garbage {{{"})
    assert get_framework("spring").detect(tmp_path) == []


def test_an_application_yml_with_maven_filter_tokens_is_still_read(tmp_path):
    """`active: @profiles.active@` is filled by Maven at build time; unfilled it is invalid
    YAML, and every key of the file was lost (RuoYi's `user.password.maxRetryCount` then got
    a dummy variable that overrode its value: NumberFormatException at start)."""
    from pipeline.languages.java import discovery as jl

    resources = tmp_path / "src" / "main" / "resources"
    resources.mkdir(parents=True)
    (resources / "application.yml").write_text(
        "spring:\n  profiles:\n    active: @profiles.active@\nuser:\n  password:\n    maxRetryCount: 5\n"
    )
    config = jl.read_active_spring_config(tmp_path)
    assert config["user.password.maxRetryCount"] == "5"
    assert config["spring.profiles.active"] == "@profiles.active@"


def test_a_value_nothing_defines_gets_a_value_of_its_declared_type(tmp_path):
    """Spring refuses to start on `dummy-X` for a boolean or a number (RuoYi-Flowable-Plus's
    `@Value("${autoRemovePre}") boolean`, defined in a module's own yml): a flag stays off,
    a number is small, a string is a dummy."""
    ds.write_files(
        tmp_path,
        {
            "pom.xml": WEB_POM.format(artifact="svc"),
            "src/main/java/demo/DemoApplication.java": APP,
            "src/main/java/demo/GenConfig.java": """
                package demo;

                import org.springframework.beans.factory.annotation.Value;

                class GenConfig {
                    @Value("${autoRemovePre}") public boolean autoRemovePre;
                    @Value("${gen.pageSize}") private Integer pageSize;
                    @Value("${gen.author}") String author;
                    void set(@Value("${gen.strict}") Boolean strict) {}
                    @Value("${gen.cached}") public void setCached(boolean cached) {}
                }
            """,
            # A file @PropertySource loads (read as properties, a YAML file too) defines its keys.
            "src/main/java/demo/Generator.java": """
                package demo;

                @PropertySource(value = {"classpath:generator.yml"}, encoding = "UTF-8")
                class Generator {
                    @Value("${tablePrefix}") String prefix;
                }
            """,
            "src/main/resources/generator.yml": "gen:\n  tablePrefix: sys_\n",
        },
    )
    spring = get_framework("spring")
    [service] = spring.detect(tmp_path)
    assert spring.runtime_hints(tmp_path, service).env == {
        "AUTOREMOVEPRE": "false",
        "GEN_AUTHOR": "dummy-GEN_AUTHOR",
        "GEN_CACHED": "false",
        "GEN_PAGESIZE": "1",
        "GEN_STRICT": "false",
    }
