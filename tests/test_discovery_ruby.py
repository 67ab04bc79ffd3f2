"""Static endpoint discovery for Rails and Sinatra, against ground truth and inline apps."""

from __future__ import annotations

import logging
import shutil
import textwrap
from pathlib import Path

import discovery_support as ds
import pytest

from pipeline.languages import get_framework
from pipeline.languages.framework import Framework

FIXTURES = ds.FIXTURES
CASES = [
    ("rails", "rails_blog", "config/application.rb"),
    ("sinatra", "sinatra_notes", "config.ru"),
]
#: handler-shaped code that is never routed
DECOYS = {
    "rails": {"legacy_export", "set_post", "post_params", "verify_signature", "not_found", "model_class"},
    "sinatra": {"legacy_list_notes"},
}


def _mask_all(framework: Framework, root: Path) -> dict[str, str]:
    """Mask every discovered handler in place, from the end of each file backwards."""
    masked = ds.mask_all(framework, root, ds.discover(framework, root), write=True)
    return {rel: source.decode() for rel, source in masked.items()}


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_detect_fixture_and_exclusivity(name: str, fixture: str, entrypoint: str) -> None:
    ds.assert_detects_only(name, FIXTURES / fixture, entrypoint)


@pytest.mark.parametrize("name", ["rails", "sinatra"])
@pytest.mark.parametrize("fixture", ["flask_todo", "express_books", "fastapi_notes"])
def test_ruby_frameworks_ignore_other_fixtures(name: str, fixture: str) -> None:
    assert get_framework(name).detect(FIXTURES / fixture) == []


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_discover_matches_ground_truth(name: str, fixture: str, entrypoint: str) -> None:
    ds.assert_matches_ground_truth(name, FIXTURES / fixture)


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_handler_ranges_slice_to_definition_and_body(name: str, fixture: str, entrypoint: str) -> None:
    for endpoint, (_, definition, _, body) in ds.endpoint_slices(name, FIXTURES / fixture, strict=True):
        handler = endpoint.handler
        assert definition.endswith("end")
        assert body.strip() and not body.startswith(("def ", "do"))
        if name == "rails":
            assert definition.startswith(f"def {handler.name}\n")
        else:
            assert handler.name == "<anonymous>"
            assert definition.startswith(f'{endpoint.method.lower()} "')
        assert handler.name not in DECOYS[name]


def test_rails_handlers_resolve_through_namespaces_and_superclasses() -> None:
    handlers = ds.by_key(ds.discover("rails", FIXTURES / "rails_blog"))
    assert handlers[("GET", "/api/v1/posts/:id")].file == "app/controllers/api/v1/posts_controller.rb"
    assert handlers[("GET", "/api/v1/posts/:post_id/comments")].file == "app/controllers/api/v1/comments_controller.rb"
    assert handlers[("GET", "/api/v1/profile")].file == "app/controllers/api/v1/profiles_controller.rb"
    # Admin::UsersController inherits `index` from Admin::BaseController.
    assert handlers[("GET", "/admin/users")].file == "app/controllers/admin/base_controller.rb"
    assert handlers[("DELETE", "/admin/users/:id")].file == "app/controllers/admin/users_controller.rb"
    assert handlers[("GET", "/reports/summary")].file == "app/controllers/reports_controller.rb"
    assert handlers[("PATCH", "/api/v1/posts/:id")] == handlers[("PUT", "/api/v1/posts/:id")]


def test_sinatra_handlers_resolve_across_files() -> None:
    handlers = ds.by_key(ds.discover("sinatra", FIXTURES / "sinatra_notes"))
    assert handlers[("GET", "/")].file == "app.rb"
    assert handlers[("GET", "/health")].file == "routes/status_api.rb"
    assert handlers[("GET", "/api/notes")].file == "routes/notes_api.rb"
    assert handlers[("GET", "/api/notes")].line == 2
    assert handlers[("GET", "/api/tags/:name/notes")].file == "routes/tags_api.rb"


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_decoys_are_not_reported(name: str, fixture: str, entrypoint: str) -> None:
    endpoints = ds.discover(name, FIXTURES / fixture)
    assert not {e.handler.name for e in endpoints} & DECOYS[name]
    assert not any("legacy" in e.path or "legacy" in e.handler.file for e in endpoints)
    # CommentsController#destroy is public but `only: %i[index create]` leaves it unrouted.
    assert ("DELETE", "/api/v1/posts/:post_id/comments/:id") not in ds.pairs(endpoints)


def test_rails_api_only_resources_have_no_new_or_edit() -> None:
    paths = {e.path for e in ds.discover("rails", FIXTURES / "rails_blog")}
    assert not any(p.endswith(("/new", "/edit")) for p in paths)


def test_runtime_hints() -> None:
    rails = get_framework("rails")
    root = FIXTURES / "rails_blog"
    hints = rails.runtime_hints(root, ds.service_of(rails, root))
    assert hints.start_command == ["bin/rails", "server", "-b", "0.0.0.0", "-p", "3000"]
    assert hints.port == 3000
    assert hints.env == {"RAILS_ENV": "development", "RACK_ENV": "development", "ADMIN_TOKEN": "dummy-ADMIN_TOKEN"}
    # The fixture's database is SQLite: it is created and migrated before the server starts.
    assert hints.setup_commands == ["bin/rails db:prepare"]
    assert hints.extra_packages == []

    sinatra = get_framework("sinatra")
    root = FIXTURES / "sinatra_notes"
    hints = sinatra.runtime_hints(root, ds.service_of(sinatra, root))
    assert hints.start_command == ["rackup", "-o", "0.0.0.0", "-p", "4567"]
    assert hints.port == 4567
    # NOTES_API_TOKEN has a fallback in the code; NOTES_VERSION does not.
    assert hints.env == {"NOTES_VERSION": "dummy-NOTES_VERSION"}
    assert hints.extra_packages == ["rackup", "webrick"]


@pytest.mark.parametrize(
    ("fixture", "kept", "gone"),
    [
        (
            "rails_blog",
            ["def update\n        head :not_implemented\n      end", "def legacy_export", "def set_post", "def index"],
            ["Post.new(post_params)", "@post.update!(published: true)", "head :accepted", "model_class.order"],
        ),
        (
            "sinatra_notes",
            ['get "/:id/attachments/*" do |id, name|\n    halt 501\n  end', "use StatusApi", "def legacy_list_notes"],
            [
                "store.add(title: title",
                "title is required",
                "note.pinned = true",
                '{ status: "ok" }.to_json\n  end\n\n  get',
            ],
        ),
    ],
)
def test_masking_reparses_keeps_routes_and_drops_logic(
    tmp_path: Path, fixture: str, kept: list[str], gone: list[str]
) -> None:
    name = fixture.split("_")[0]
    framework = get_framework(name)
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root)
    masked = _mask_all(framework, root)
    assert masked
    statement = "head :not_implemented" if name == "rails" else "halt 501"
    for rel, text in masked.items():
        ds.assert_parses(text.encode(), "ruby", rel)
        assert statement in text
    everything = "\n".join(p.read_text() for p in sorted(root.rglob("*.rb")))
    for snippet in kept:
        assert snippet in everything, snippet
    for snippet in gone:
        assert snippet not in everything, snippet
    original = ds.discover(name, FIXTURES / fixture)
    again = framework.discover(root, ds.service_of(framework, root))
    assert ds.triples(again) == ds.triples(original)
    for endpoint in again:
        source = (root / endpoint.handler.file).read_bytes()
        body = source[endpoint.handler.body_start_byte : endpoint.handler.body_end_byte].decode()
        assert body == statement


# --------------------------------------------------------------------------- Rails routing


_RAILS_CONTROLLER = """
class {name}Controller < ApplicationController
  def index; end
  def show; end
  def new; end
  def create; end
  def edit; end
  def update; end
  def destroy; end
end
"""


def _rails_app(root: Path, routes: str, controllers: dict[str, str], *, api_only: bool = False) -> Path:
    files = {
        "Gemfile": 'source "https://rubygems.org"\ngem "rails", "~> 7.1"\n',
        "config/routes.rb": routes,
        "app/controllers/application_controller.rb": "class ApplicationController < ActionController::Base\nend\n",
    }
    if api_only:
        files["config/application.rb"] = (
            "module App\n  class Application < Rails::Application\n    config.api_only = true\n  end\nend\n"
        )
    files.update(controllers)
    return ds.write_files(root, files)


def test_rails_resources_expand_to_the_seven_actions(tmp_path: Path) -> None:
    _rails_app(
        tmp_path,
        """
        Rails.application.routes.draw do
          resources :posts
          resource :profile
        end
        """,
        {
            "app/controllers/posts_controller.rb": _RAILS_CONTROLLER.format(name="Posts"),
            "app/controllers/profiles_controller.rb": _RAILS_CONTROLLER.format(name="Profiles"),
        },
    )
    assert ds.triples(ds.discover("rails", tmp_path)) == {
        ("GET", "/posts", "index"),
        ("POST", "/posts", "create"),
        ("GET", "/posts/new", "new"),
        ("GET", "/posts/:id", "show"),
        ("GET", "/posts/:id/edit", "edit"),
        ("PATCH", "/posts/:id", "update"),
        ("PUT", "/posts/:id", "update"),
        ("DELETE", "/posts/:id", "destroy"),
        # singular: no index, no :id, controller named after the plural
        ("GET", "/profile", "show"),
        ("POST", "/profile", "create"),
        ("GET", "/profile/new", "new"),
        ("GET", "/profile/edit", "edit"),
        ("PATCH", "/profile", "update"),
        ("PUT", "/profile", "update"),
        ("DELETE", "/profile", "destroy"),
    }


def test_rails_api_only_drops_new_and_edit_unless_asked(tmp_path: Path) -> None:
    _rails_app(
        tmp_path,
        """
        Rails.application.routes.draw do
          resources :posts, except: [:destroy]
          resources :drafts, only: %i[new edit]
        end
        """,
        {
            "app/controllers/posts_controller.rb": _RAILS_CONTROLLER.format(name="Posts"),
            "app/controllers/drafts_controller.rb": _RAILS_CONTROLLER.format(name="Drafts"),
        },
        api_only=True,
    )
    assert ds.pairs(ds.discover("rails", tmp_path)) == {
        ("GET", "/posts"),
        ("POST", "/posts"),
        ("GET", "/posts/:id"),
        ("PATCH", "/posts/:id"),
        ("PUT", "/posts/:id"),
        ("GET", "/drafts/new"),
        ("GET", "/drafts/:id/edit"),
    }


def test_rails_nested_member_collection_and_resource_options(tmp_path: Path) -> None:
    _rails_app(
        tmp_path,
        """
        Rails.application.routes.draw do
          concern :commentable do
            resources :comments, only: :index
          end

          resources :photos, param: :slug, path: "pictures", only: [:show], concerns: :commentable do
            get :preview
            get :thumb, on: :member
            collection do
              get "recent"
            end
            member { delete :purge }
          end
          resource :account, only: [:new], path_names: { new: "signup" }
          resources :people, controller: "humans", as: "folks", only: [] do
            resources :pets, only: :index
          end
        end
        """,
        {
            "app/controllers/photos_controller.rb": """
                class PhotosController < ApplicationController
                  def show; end
                  def preview; end
                  def thumb; end
                  def recent; end
                  def purge; end
                end
            """,
            "app/controllers/comments_controller.rb": _RAILS_CONTROLLER.format(name="Comments"),
            "app/controllers/accounts_controller.rb": _RAILS_CONTROLLER.format(name="Accounts"),
            "app/controllers/pets_controller.rb": _RAILS_CONTROLLER.format(name="Pets"),
        },
    )
    endpoints = ds.discover("rails", tmp_path)
    assert ds.triples(endpoints) == {
        ("GET", "/pictures/:slug", "show"),
        # a verb directly in the resources block nests: the id becomes :photo_slug
        ("GET", "/pictures/:photo_slug/preview", "preview"),
        ("GET", "/pictures/:slug/thumb", "thumb"),
        ("GET", "/pictures/recent", "recent"),
        ("DELETE", "/pictures/:slug/purge", "purge"),
        ("GET", "/pictures/:photo_slug/comments", "index"),
        ("GET", "/account/signup", "new"),
        ("GET", "/people/:folk_id/pets", "index"),
    }
    assert ds.by_key(endpoints)[("GET", "/account/signup")].file == "app/controllers/accounts_controller.rb"


def test_rails_shallow_nesting(tmp_path: Path) -> None:
    _rails_app(
        tmp_path,
        """
        Rails.application.routes.draw do
          namespace :api do
            resources :articles, only: [], shallow: true do
              resources :remarks, only: [:index, :create, :show, :destroy] do
                resources :votes, only: [:index, :show]
              end
            end
          end
        end
        """,
        {
            "app/controllers/api/remarks_controller.rb": _RAILS_CONTROLLER.format(name="Api::Remarks"),
            "app/controllers/api/votes_controller.rb": _RAILS_CONTROLLER.format(name="Api::Votes"),
        },
    )
    assert ds.pairs(ds.discover("rails", tmp_path)) == {
        ("GET", "/api/articles/:article_id/remarks"),
        ("POST", "/api/articles/:article_id/remarks"),
        ("GET", "/api/remarks/:id"),
        ("DELETE", "/api/remarks/:id"),
        ("GET", "/api/remarks/:remark_id/votes"),
        ("GET", "/api/votes/:id"),
    }


def test_rails_namespaces_scopes_and_single_routes(tmp_path: Path) -> None:
    _rails_app(
        tmp_path,
        """
        Rails.application.routes.draw do
          root "pages#home"
          namespace :admin, path: "backstage" do
            root to: "dashboard#home"
            get "stats" => "dashboard#stats"
            get "global", to: "/global#show"
            match "purge", to: "dashboard#purge", via: :all
            match "sync", to: "dashboard#sync", via: [:get, :post]
          end
          scope module: "api", path: "/v2" do
            resources :items, only: :show
          end
          scope "/:locale" do
            get "help", to: "pages#help"
          end
          controller :pages do
            get "about", action: :about
          end
          get "pages/contact"
          get "files/*path", to: "pages#file"
          get "go", to: redirect("/about")
          mount ActionCable.server => "/cable"
        end
        """,
        {
            "app/controllers/pages_controller.rb": """
                class PagesController < ApplicationController
                  def home; end
                  def help; end
                  def about; end
                  def contact; end
                  def file; end
                end
            """,
            "app/controllers/admin/dashboard_controller.rb": """
                module Admin
                  class DashboardController < ApplicationController
                    def home; end
                    def stats; end
                    def purge; end
                    def sync; end
                  end
                end
            """,
            "app/controllers/global_controller.rb": (
                "class GlobalController < ApplicationController\n  def show; end\nend\n"
            ),
            "app/controllers/api/items_controller.rb": _RAILS_CONTROLLER.format(name="Api::Items"),
        },
    )
    endpoints = ds.discover("rails", tmp_path)
    assert ds.triples(endpoints) == {
        ("GET", "/", "home"),
        ("GET", "/backstage", "home"),
        ("GET", "/backstage/stats", "stats"),
        ("GET", "/backstage/global", "show"),
        ("ANY", "/backstage/purge", "purge"),
        ("GET", "/backstage/sync", "sync"),
        ("POST", "/backstage/sync", "sync"),
        ("GET", "/v2/items/:id", "show"),
        ("GET", "/:locale/help", "help"),
        ("GET", "/about", "about"),
        ("GET", "/pages/contact", "contact"),
        ("GET", "/files/*path", "file"),
    }
    handlers = ds.by_key(endpoints)
    assert handlers[("GET", "/")].file == "app/controllers/pages_controller.rb"
    assert handlers[("GET", "/backstage")].file == "app/controllers/admin/dashboard_controller.rb"
    assert handlers[("GET", "/backstage/global")].file == "app/controllers/global_controller.rb"
    assert handlers[("GET", "/v2/items/:id")].file == "app/controllers/api/items_controller.rb"


def test_rails_draw_files_and_transparent_blocks(tmp_path: Path) -> None:
    _rails_app(
        tmp_path,
        """
        Rails.application.routes.draw do
          namespace :api do
            draw :sessions
          end
          if Rails.env.development?
            get "debug", to: "sessions#debug"
          end
        end
        """,
        {
            "config/routes/sessions.rb": """
                constraints(subdomain: "api") do
                  delete "sessions", to: "sessions#destroy"
                end
            """,
            "app/controllers/api/sessions_controller.rb": """
                class Api::SessionsController < ApplicationController
                  def destroy
                    reset_session
                  end
                end
            """,
            "app/controllers/sessions_controller.rb": (
                "class SessionsController < ApplicationController\n  def debug; end\nend\n"
            ),
        },
    )
    endpoints = ds.discover("rails", tmp_path)
    assert ds.pairs(endpoints) == {("DELETE", "/api/sessions"), ("GET", "/debug")}
    assert ds.by_key(endpoints)[("DELETE", "/api/sessions")].file == "app/controllers/api/sessions_controller.rb"


def test_rails_actions_resolve_through_modules_and_visibility(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _rails_app(
        tmp_path,
        """
        Rails.application.routes.draw do
          resources :reports, only: [:index, :show] do
            get :export, on: :member
            get :secret, on: :collection
            get :hidden, on: :collection
            get :inherited, on: :collection
            get :ghost, on: :collection
          end
          resources :tags, only: :index
        end
        """,
        {
            "app/controllers/application_controller.rb": """
                class ApplicationController < ActionController::Base
                  def inherited
                    head :ok
                  end
                end
            """,
            "app/controllers/concerns/exportable.rb": """
                module Exportable
                  extend ActiveSupport::Concern

                  def export
                    send_data "csv"
                  end
                end
            """,
            "app/controllers/reports_controller.rb": """
                class ReportsController < ApplicationController
                  include Exportable

                  def index
                    render json: []
                  end

                  def show = render(json: {})

                  def hidden; end
                  private :hidden

                  private

                  def secret
                    "no"
                  end
                end
            """,
        },
    )
    with caplog.at_level(logging.WARNING):
        endpoints = ds.discover("rails", tmp_path)
    handlers = ds.by_key(endpoints)
    assert set(handlers) == {
        ("GET", "/reports"),
        ("GET", "/reports/:id"),
        ("GET", "/reports/:id/export"),
        ("GET", "/reports/inherited"),
    }
    assert handlers[("GET", "/reports/:id/export")].file == "app/controllers/concerns/exportable.rb"
    assert handlers[("GET", "/reports/inherited")].file == "app/controllers/application_controller.rb"
    messages = ds.log_messages(caplog)
    assert "reports#secret: no public action method" in messages
    assert "reports#ghost: no public action method" in messages
    assert "controller TagsController is not in the repository" in messages


def test_rails_masking_of_one_line_empty_and_endless_actions(tmp_path: Path) -> None:
    _rails_app(
        tmp_path,
        "Rails.application.routes.draw do\n  resources :items, only: %i[index show create update]\nend\n",
        {
            "app/controllers/items_controller.rb": """
                class ItemsController < ApplicationController
                  def index; end
                  def show = render(json: Item.find(params[:id]))
                  def create(*)
                  end
                  def update; render json: {}; end
                end
            """,
        },
    )
    framework = get_framework("rails")
    masked = _mask_all(framework, tmp_path)["app/controllers/items_controller.rb"]
    assert masked == textwrap.dedent(
        """\
        class ItemsController < ApplicationController
          def index; head :not_implemented; end
          def show = head(:not_implemented)
          def create(*)
            head :not_implemented
          end
          def update; head :not_implemented; end
        end
        """
    )


def test_rails_multiple_apps_and_broken_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for name in ("blog", "shop"):
        _rails_app(
            tmp_path / "apps" / name,
            "Rails.application.routes.draw do\n  resources :things, only: :index\nend\n",
            {
                "app/controllers/things_controller.rb": _RAILS_CONTROLLER.format(name="Things"),
                "app/controllers/broken_controller.rb": (
                    "class BrokenController < ApplicationController\n  def x(\nend\n"
                ),
            },
        )
    (tmp_path / "apps" / "shop" / "config" / "routes.rb").write_text("Rails.application.routes.draw do\n  get (\n")
    rails = get_framework("rails")
    services = rails.detect(tmp_path)
    assert [s.root for s in services] == [(tmp_path / "apps" / n).resolve() for n in ("blog", "shop")]
    with caplog.at_level(logging.WARNING):
        blog = rails.discover(tmp_path, services[0])
        shop = rails.discover(tmp_path, services[1])
    assert ds.pairs(blog) == {("GET", "/things")}
    assert blog[0].handler.file == "apps/blog/app/controllers/things_controller.rb"
    assert shop == []
    messages = ds.log_messages(caplog)
    assert "apps/blog/app/controllers/broken_controller.rb: does not parse" in messages
    assert "apps/shop/config/routes.rb: does not parse" in messages
    assert get_framework("sinatra").detect(tmp_path) == []


def test_rails_is_not_claimed_without_routes_or_rails_gem(tmp_path: Path) -> None:
    ds.write_files(tmp_path / "lib_only", {"Gemfile": 'gem "rails"\n', "lib/x.rb": "module X; end\n"})
    ds.write_files(tmp_path / "other", {"Gemfile": 'gem "hanami"\n', "config/routes.rb": "get '/x'\n"})
    assert get_framework("rails").detect(tmp_path) == []


# --------------------------------------------------------------------------- Sinatra routing


def test_sinatra_classic_app(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "Gemfile": 'source "https://rubygems.org"\ngem "sinatra"\ngem "puma"\n',
            "app.rb": """
                require 'sinatra'
                require 'json'

                set :port, ENV.fetch('PORT', 8080)

                get '/' do
                  'hello'
                end

                post '/items/:id' do |id|
                  { id: id, key: ENV['API_KEY'] }.to_json
                end

                get('/ping') { 'pong' }

                get %r{/regex/(\\d+)} do
                  'skipped: not a literal path'
                end

                def helper_shaped
                  'never routed'
                end
            """,
        },
    )
    sinatra = get_framework("sinatra")
    service = ds.service_of(sinatra, tmp_path)
    assert service.entrypoint == "app.rb"
    endpoints = sinatra.discover(tmp_path, service)
    assert ds.triples(endpoints) == {
        ("GET", "/", "<anonymous>"),
        ("POST", "/items/:id", "<anonymous>"),
        ("GET", "/ping", "<anonymous>"),
    }
    hints = sinatra.runtime_hints(tmp_path, service)
    assert hints.start_command == ["ruby", "app.rb", "-o", "0.0.0.0", "-p", "8080"]
    assert hints.port == 8080
    assert hints.env == {"API_KEY": "dummy-API_KEY", "PORT": "8080"}
    assert hints.extra_packages == []
    masked = _mask_all(sinatra, tmp_path)["app.rb"]
    assert "get('/ping') { halt 501 }" in masked
    assert "post '/items/:id' do |id|\n  halt 501\nend" in masked
    assert "def helper_shaped\n  'never routed'" in masked


def test_sinatra_namespaces_extensions_and_inheritance(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "Gemfile": 'gem "sinatra"\ngem "sinatra-contrib"\n',
            "lib/app.rb": """
                require 'sinatra/base'
                require 'sinatra/namespace'

                module Shop
                  module Routes
                    module Orders
                      def self.registered(app)
                        app.get '/orders' do
                          'orders'
                        end
                        app.namespace '/orders' do
                          get '/:id' do
                            'one order'
                          end
                        end
                      end
                    end
                  end

                  class Base < Sinatra::Base
                    register Sinatra::Namespace

                    get '/ping' do
                      'pong'
                    end
                  end

                  class Api < Base
                    register Routes::Orders

                    namespace '/api' do
                      get do
                        'root of the namespace'
                      end

                      namespace '/v1' do
                        delete '/carts/:id' do
                          'deleted'
                        end

                        route :put, :patch, '/carts/:id' do
                          'replaced'
                        end
                      end
                    end

                    run! if app_file == $0
                  end

                  class Unused < Sinatra::Base
                    get '/unused' do
                      'never mounted'
                    end
                  end
                end
            """,
        },
    )
    sinatra = get_framework("sinatra")
    service = ds.service_of(sinatra, tmp_path)
    endpoints = sinatra.discover(tmp_path, service)
    assert ds.pairs(endpoints) == {
        ("GET", "/orders"),
        ("GET", "/orders/:id"),
        ("GET", "/ping"),
        ("GET", "/api"),
        ("DELETE", "/api/v1/carts/:id"),
        ("PUT", "/api/v1/carts/:id"),
        ("PATCH", "/api/v1/carts/:id"),
    }
    assert {e.handler.file for e in endpoints} == {"lib/app.rb"}
    hints = sinatra.runtime_hints(tmp_path, service)
    assert hints.start_command == [
        "ruby",
        "-e",
        "require './lib/app.rb'; Shop::Api.run!(bind: '0.0.0.0', port: 4567)",
    ]
    assert hints.extra_packages == ["webrick"]


def test_sinatra_config_ru_mounts(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "Gemfile": 'gem "sinatra"\n',
            "config.ru": """
                require './apps'

                use Auth
                map '/v1' do
                  map '/admin' do
                    run AdminApp.new
                  end
                  run Rack::Cascade.new([Users, Groups])
                end
                run Rack::URLMap.new('/' => Home, '/files' => Rack::Files.new('public'))
            """,
            "apps.rb": """
                require 'sinatra/base'

                class Auth < Sinatra::Base
                  post '/login' do
                    'token'
                  end
                end

                class AdminApp < Sinatra::Base
                  get '/' do
                    'admin'
                  end
                end

                class Users < Sinatra::Base
                  get '/users/:id' do
                    'user'
                  end
                end

                class Groups < Sinatra::Base
                  get '/groups/*' do
                    'group'
                  end
                end

                class Home < Sinatra::Base
                  get '/' do
                    'home'
                  end
                end

                class Forgotten < Sinatra::Base
                  get '/forgotten' do
                    'not mounted'
                  end
                end
            """,
            "spec/app_spec.rb": """
                describe 'app' do
                  it 'works' do
                    get '/users/1' do
                      nil
                    end
                  end
                end
            """,
        },
    )
    endpoints = ds.discover("sinatra", tmp_path)
    assert ds.pairs(endpoints) == {
        ("POST", "/login"),
        ("GET", "/v1/admin"),
        ("GET", "/v1/users/:id"),
        ("GET", "/v1/groups/*"),
        ("GET", "/"),
    }


def test_sinatra_without_gemfile_and_broken_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ds.write_files(
        tmp_path,
        {
            "hello/hello.rb": 'require "sinatra"\n\nget \'/hello/:name\' do\n  "hi #{params[:name]}"\nend\n',
            "hello/broken.rb": "get '/broken' do\n",
            "other/script.rb": "puts 'not a web app'\n",
        },
    )
    sinatra = get_framework("sinatra")
    services = sinatra.detect(tmp_path)
    assert [(s.root, s.entrypoint) for s in services] == [((tmp_path / "hello").resolve(), "hello.rb")]
    with caplog.at_level(logging.WARNING):
        endpoints = sinatra.discover(tmp_path, services[0])
    assert ds.pairs(endpoints) == {("GET", "/hello/:name")}
    assert endpoints[0].handler.file == "hello/hello.rb"
    assert "hello/broken.rb: does not parse" in ds.log_messages(caplog)


def test_sinatra_does_not_claim_rails_apps(tmp_path: Path) -> None:
    _rails_app(
        tmp_path,
        "Rails.application.routes.draw do\nend\n",
        {"Gemfile": 'gem "rails"\ngem "sinatra"\n', "lib/web.rb": "require 'sinatra/base'\n"},
    )
    assert get_framework("sinatra").detect(tmp_path) == []
    assert len(get_framework("rails").detect(tmp_path)) == 1


def test_sinatra_masking_of_empty_blocks(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "Gemfile": 'gem "sinatra"\n',
            "app.rb": "require 'sinatra'\n\nget '/a' do\nend\n\nget('/b') { |x| }\n\npost '/c' do end\n",
        },
    )
    masked = _mask_all(get_framework("sinatra"), tmp_path)["app.rb"]
    assert masked == (
        "require 'sinatra'\n\nget '/a' do\n  halt 501\nend\n\n"
        "get('/b') { |x| halt 501 }\n\npost '/c' do; halt 501; end\n"
    )
