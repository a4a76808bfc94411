"""Avro schemas and the codec every service uses to read and write messages."""

from rdv.codec.catalog import SchemaCatalog, SchemaVersion, default_catalog
from rdv.codec.codec import JSON_CONTENT_TYPE, Codec

__all__ = ["JSON_CONTENT_TYPE", "Codec", "SchemaCatalog", "SchemaVersion", "default_catalog"]
