"""Types between polars and Spark: Spark has no unsigned integers and no enums, so a
column travels as its nearest Spark type (UInt16 as int, Enum as string) and is cast
back, strictly, to its single-machine type on the way out (features.spark)."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
from pyspark.sql import types as st
from pyspark.sql.pandas.types import to_arrow_schema

from features.spark_run import SparkJobError
from features.table import restore


def spark_schema(schema: pl.Schema) -> st.StructType:
    """The Spark schema a polars frame travels as (unsigned widened, enums as strings)."""
    return st.StructType(
        [st.StructField(name, _spark_type(dtype)) for name, dtype in schema.items()]
    )


def _spark_type(dtype: pl.DataType) -> st.DataType:
    simple: dict[type[pl.DataType], st.DataType] = {
        pl.Boolean: st.BooleanType(),
        pl.Int8: st.ByteType(),
        pl.Int16: st.ShortType(),
        pl.Int32: st.IntegerType(),
        pl.Int64: st.LongType(),
        pl.UInt8: st.ShortType(),
        pl.UInt16: st.IntegerType(),
        pl.UInt32: st.LongType(),
        pl.Float32: st.FloatType(),
        pl.Float64: st.DoubleType(),
        pl.String: st.StringType(),
        pl.Enum: st.StringType(),
        pl.Categorical: st.StringType(),
        pl.Date: st.DateType(),
    }
    if type(dtype) in simple:
        return simple[type(dtype)]
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        return st.TimestampNTZType()
    if isinstance(dtype, pl.List):
        inner = dtype.inner if isinstance(dtype.inner, pl.DataType) else dtype.inner()
        return st.ArrayType(_spark_type(inner))
    raise SparkJobError(f"no Spark type for the polars type {dtype}")


def arrow_schema_for(schema: st.StructType) -> pa.Schema:
    """The Arrow schema Spark expects back from a partition."""
    return to_arrow_schema(schema)


def to_spark_arrow(frame: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    """A polars frame as the Arrow table Spark expects (columns by name, types cast)."""
    widened = frame.select(
        pl.col(name).cast(pl.String)
        if isinstance(frame.schema[name], pl.Enum | pl.Categorical)
        else pl.col(name)
        for name in schema.names
    )
    return widened.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(schema)


def from_spark_arrow(table: pa.Table, schema: pl.Schema) -> pl.DataFrame:
    """Back from Spark: each column cast, strictly, to its single-machine type."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return restore(frame.lazy(), schema).collect(engine="in-memory")
