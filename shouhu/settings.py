"""The one settings object. Every knob is an environment variable with the SHOUHU_ prefix.

Defaults serve the embedded case: LadybugDB and SQLite files under ./data, no server to start.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOUHU_", extra="ignore")

    data_dir: Path = Field(default=Path("./data"), description="Where the embedded stores live.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the relational store; SQLite file under data_dir when unset.",
    )
    neo4j_uri: str | None = Field(default=None, description="bolt:// or neo4j:// URI; LadybugDB when unset.")
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    neo4j_database: str | None = None
    graph_buffer_pool_mb: int = Field(default=2048, description="LadybugDB buffer pool size.")
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def graph_path(self) -> Path:
        return self.data_dir / "graph.lbug"

    @property
    def sql_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'shouhu.sqlite3').as_posix()}"

    @property
    def graph_backend(self) -> str:
        return "neo4j" if self.neo4j_uri else "ladybug"


@lru_cache
def get_settings() -> Settings:
    return Settings()
