"""Python: Flask, FastAPI and Django services."""

from pipeline.languages.base import Grammar, Language
from pipeline.languages.python import pypi, toolchain
from pipeline.languages.python.django import DjangoFramework
from pipeline.languages.python.fastapi import FastAPIFramework
from pipeline.languages.python.flask import FlaskFramework

# Import names that differ from the PyPI distribution that provides them.
DISTRIBUTIONS = {
    "yaml": "PyYAML",
    "cv2": "opencv-python-headless",
    "PIL": "Pillow",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "bs4": "beautifulsoup4",
    "dotenv": "python-dotenv",
    "jwt": "PyJWT",
    "dateutil": "python-dateutil",
    "jose": "python-jose",
    "multipart": "python-multipart",
    "magic": "python-magic",
    "Crypto": "pycryptodome",
    "OpenSSL": "pyOpenSSL",
    "MySQLdb": "mysqlclient",
    "psycopg2": "psycopg2-binary",
    "google.protobuf": "protobuf",
    "attr": "attrs",
    "serial": "pyserial",
    "usb": "pyusb",
    "docx": "python-docx",
    "pptx": "python-pptx",
    "telegram": "python-telegram-bot",
    "socketio": "python-socketio",
    "engineio": "python-engineio",
    "flask_cors": "Flask-Cors",
    "flask_sqlalchemy": "Flask-SQLAlchemy",
    "flask_login": "Flask-Login",
    "flask_migrate": "Flask-Migrate",
    "flask_restful": "Flask-RESTful",
    "flask_jwt_extended": "Flask-JWT-Extended",
    "rest_framework": "djangorestframework",
    "corsheaders": "django-cors-headers",
    "decouple": "python-decouple",
    "environ": "django-environ",
}


class PythonLanguage(Language):
    def package_for_module(self, module: str) -> str:
        return DISTRIBUTIONS.get(module, module)

    def version_as_of(self, package: str, moment: str) -> str | None:
        return pypi.newest_before(self.package_for_module(package), moment)

    def pin_dependency(self, dockerfile: str, package: str, version: str) -> str | None:
        return toolchain.with_pinned(dockerfile, self.package_for_module(package), version)


LANGUAGE = PythonLanguage(
    name="python",
    aliases=(),
    frameworks=(FlaskFramework(), FastAPIFramework(), DjangoFramework()),
    toolchain=toolchain,
    grammars={"python": Grammar("tree_sitter_python")},
    suffixes={".py": "python"},
    delegate_queries={
        "python": (
            "(function_definition name: (identifier) @name) @def",
            "(call function: [(identifier) @name (attribute attribute: (identifier) @name)])",
        ),
    },
    manifest_files=("requirements.txt", "pyproject.toml", "Pipfile"),
    server_dependencies={
        "psycopg2": "postgresql",
        "psycopg2-binary": "postgresql",
        "psycopg": "postgresql",
        "psycopg-binary": "postgresql",
        "asyncpg": "postgresql",
        "pg8000": "postgresql",
        "pymysql": "mysql",
        "mysqlclient": "mysql",
        "aiomysql": "mysql",
        "mysql-connector-python": "mysql",
        "asyncmy": "mysql",
        "redis": "redis",
        "aioredis": "redis",
        "pymongo": "mongodb",
        "motor": "mongodb",
        "mongoengine": "mongodb",
        "flask-pymongo": "mongodb",
        "beanie": "mongodb",
    },
    dockerignore=("__pycache__", "*.pyc", ".venv", "venv"),
    extra_install="pip install --no-cache-dir {}",
    unfreeze=(
        (r"poetry install", "(poetry lock --no-update || poetry lock) && poetry install"),
        (r"uv export --frozen", "uv lock && uv export"),
        (r"pipenv install --system --deploy", "pipenv install --system --skip-lock"),
    ),
)
