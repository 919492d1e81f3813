using System.Globalization;
using System.Text;
using DuckDB.NET.Data;
using DuckDB.NET.Data.DataChunk.Reader;
using DuckDB.NET.Data.DataChunk.Writer;
using DuckDB.NET.Native;
using Pronto.Core.Errors;
using Pronto.Core.Processing;

namespace Pronto.Sql;

/// <summary>
/// <c>pronto_predict(model, args...)</c> (FLOAT: the model's primary value) and <c>pronto_label(model, args...)</c>
/// (VARCHAR: the top label), through DuckDB.NET's chunk-wise UDFs. Arguments after the model name map to the
/// model's inputs by position, or, given one STRUCT (a row: <c>pronto_predict('fraud', t)</c>), by field name.
/// Each chunk's non-NULL rows go to the engine in one run (split at the model's max_batch_size); a row with a NULL
/// argument gives NULL. A failure throws: DuckDB.NET parks it on its side of the native boundary
/// (UdfExceptionStore) and the query fails with the message as a DuckDBException.
/// </summary>
internal static class ScalarFunctions
{
    public const string Predict = "pronto_predict";
    public const string Label = "pronto_label";

    public static void Register(DuckDBConnection connection, ProntoSqlFunctions functions)
    {
        // ANY varargs (object): the model name plus any count and type of arguments, checked per model at run time.
        var options = new ScalarFunctionOptions { HandlesNulls = true, IsPureFunction = true };
        connection.RegisterScalarFunction<object, float>(Predict, (readers, writer, rows) => Execute(functions, Predict, readers, writer, rows), options, true);
        connection.RegisterScalarFunction<object, string>(Label, (readers, writer, rows) => Execute(functions, Label, readers, writer, rows), options, true);
    }

    private static void Execute(ProntoSqlFunctions functions, string function, IReadOnlyList<IDuckDBDataReader> readers, IDuckDBDataWriter writer, ulong rowCount)
    {
        if (readers.Count > 0 && readers[0].DuckDBType == DuckDBType.SqlNull)
        {
            // A NULL literal model name: every row is NULL.
            for (ulong row = 0; row < rowCount; row++)
            {
                writer.WriteNull(row);
            }

            return;
        }

        if (readers.Count == 0 || readers[0].DuckDBType != DuckDBType.Varchar)
        {
            throw functions.Fail(function, null, ErrorCode.InvalidArgument, "the first argument must be a model name (VARCHAR)");
        }

        var names = new string?[rowCount];
        string? single = null;
        var mixed = false;
        for (ulong row = 0; row < rowCount; row++)
        {
            var name = readers[0].IsValid(row) ? readers[0].GetValue<string>(row) : null;
            names[row] = name;
            if (name is null)
            {
                writer.WriteNull(row);
                continue;
            }

            single ??= name;
            mixed |= name != single;
        }

        if (single is null)
        {
            return;
        }

        if (!mixed)
        {
            ExecuteModel(functions, function, single, names, readers, writer);
            return;
        }

        // A model name that varies by row: one run per model present in the chunk.
        foreach (var name in names.Where(n => n is not null).Distinct(StringComparer.Ordinal))
        {
            ExecuteModel(functions, function, name!, names, readers, writer);
        }
    }

    private static void ExecuteModel(ProntoSqlFunctions functions, string function, string model, string?[] names, IReadOnlyList<IDuckDBDataReader> readers, IDuckDBDataWriter writer)
    {
        try
        {
            var sql = SqlModel.Resolve(functions.Service.Repository, model);
            var rows = new List<ulong>(names.Length);
            for (ulong row = 0; row < (ulong)names.Length; row++)
            {
                if (names[row] == model)
                {
                    rows.Add(row);
                }
            }

            var arguments = ArgumentReader.Create(sql, readers);
            var valid = new List<ulong>(rows.Count);
            foreach (var row in rows)
            {
                if (arguments.IsValid(row))
                {
                    valid.Add(row);
                }
                else
                {
                    writer.WriteNull(row);
                }
            }

            var batch = sql.MaxBatchSize > 0 ? sql.MaxBatchSize : Math.Max(valid.Count, 1);
            for (var start = 0; start < valid.Count; start += batch)
            {
                var count = Math.Min(batch, valid.Count - start);
                var inputs = arguments.Build(sql, valid, start, count);
                var response = functions.Run(model, inputs, count);
                Write(function, sql, response.Outputs[0].Tensor, valid, start, count, writer);
            }
        }
        catch (ProntoException e)
        {
            throw functions.Fail(function, model, e);
        }
        catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException)
        {
            throw functions.Fail(function, model, ErrorCode.InvalidArgument, e.Message);
        }
    }

    private static void Write(string function, SqlModel sql, Core.Tensors.Tensor output, List<ulong> rows, int start, int count, IDuckDBDataWriter writer)
    {
        if (function == Label)
        {
            var top = Classification.TopK(output, 1, sql.Labels);
            for (var i = 0; i < count; i++)
            {
                writer.WriteValue(top[i][0].Label, rows[start + i]);
            }

            return;
        }

        var (values, width) = SqlModel.ReadOutput(output, count);

        // The primary value: a single output per row, or P(the last label) of a binary classifier (P(fraud)).
        if (width is not (1 or 2))
        {
            throw new ProntoException(ErrorCode.InvalidArgument, string.Create(CultureInfo.InvariantCulture,
                $"model '{sql.Name}' gives {width} values per row ({sql.OutputName}); pronto_predict returns one value or a binary classifier's P({sql.Labels?[^1] ?? "class 1"}), use pronto_label for a class"));
        }

        for (var i = 0; i < count; i++)
        {
            writer.WriteValue(values[(i * width) + width - 1], rows[start + i]);
        }
    }

    /// <summary>Reads a chunk's arguments for one model: positional columns, or one STRUCT mapped by field name.</summary>
    private sealed class ArgumentReader
    {
        private readonly IReadOnlyList<IDuckDBDataReader> _readers;
        private readonly bool _named;
        private readonly SqlModel _sql;
        private string[]? _keys;

        private ArgumentReader(SqlModel sql, IReadOnlyList<IDuckDBDataReader> readers, bool named)
        {
            _sql = sql;
            _readers = readers;
            _named = named;
        }

        public static ArgumentReader Create(SqlModel sql, IReadOnlyList<IDuckDBDataReader> readers)
        {
            var expected = sql.ArgumentNames;
            if (readers.Count == 2 && readers[1].DuckDBType == DuckDBType.Struct)
            {
                return new ArgumentReader(sql, readers, true);
            }

            if (readers.Count - 1 != expected.Count)
            {
                throw new ProntoException(ErrorCode.InvalidArgument, string.Create(CultureInfo.InvariantCulture,
                    $"model '{sql.Name}' takes {expected.Count} argument{(expected.Count == 1 ? "" : "s")} after the model name ({string.Join(", ", expected)}), got {readers.Count - 1}"));
            }

            for (var k = 0; k < expected.Count; k++)
            {
                var type = readers[k + 1].DuckDBType;
                var ok = type == DuckDBType.SqlNull || (sql.Kind == SqlInputKind.Text ? type == DuckDBType.Varchar : IsNumeric(type));
                if (!ok)
                {
                    throw new ProntoException(ErrorCode.InvalidArgument, string.Create(CultureInfo.InvariantCulture,
                        $"argument {k + 2} ({expected[k]}) must be {(sql.Kind == SqlInputKind.Text ? "VARCHAR text" : "numeric")}, got {TypeName(type)}"));
                }
            }

            return new ArgumentReader(sql, readers, false);
        }

        public bool IsValid(ulong row)
        {
            if (_named)
            {
                if (!_readers[1].IsValid(row))
                {
                    return false;
                }

                // A NULL in a column the model reads makes the row NULL, as with positional arguments.
                var fields = (IDictionary<string, object?>)_readers[1].GetValue(row);
                _keys ??= MapKeys(_sql, fields.Keys);
                foreach (var key in _keys)
                {
                    if (fields[key] is null)
                    {
                        return false;
                    }
                }

                return true;
            }

            for (var k = 1; k < _readers.Count; k++)
            {
                if (!_readers[k].IsValid(row))
                {
                    return false;
                }
            }

            return true;
        }

        public IReadOnlyList<Core.Inference.NamedTensor> Build(SqlModel sql, List<ulong> rows, int start, int count)
        {
            var width = sql.ArgumentNames.Count;
            if (_named)
            {
                return BuildNamed(sql, rows, start, count);
            }

            if (sql.Kind == SqlInputKind.Text)
            {
                var texts = new ReadOnlyMemory<byte>[count];
                for (var i = 0; i < count; i++)
                {
                    texts[i] = Encoding.UTF8.GetBytes(_readers[1].GetValue<string>(rows[start + i]));
                }

                return SqlModel.TextInputs(texts);
            }

            var features = new float[count * width];
            for (var k = 0; k < width; k++)
            {
                var reader = _readers[k + 1];
                var type = reader.DuckDBType;
                for (var i = 0; i < count; i++)
                {
                    features[(i * width) + k] = ReadNumber(reader, type, rows[start + i]);
                }
            }

            return sql.FeatureInputs(features, count);
        }

        private IReadOnlyList<Core.Inference.NamedTensor> BuildNamed(SqlModel sql, List<ulong> rows, int start, int count)
        {
            var expected = sql.ArgumentNames;
            var width = expected.Count;
            var features = sql.Kind == SqlInputKind.Text ? null : new float[count * width];
            var texts = sql.Kind == SqlInputKind.Text ? new ReadOnlyMemory<byte>[count] : null;
            for (var i = 0; i < count; i++)
            {
                var row = (IDictionary<string, object?>)_readers[1].GetValue(rows[start + i]);
                var keys = _keys ??= MapKeys(sql, row.Keys);
                for (var k = 0; k < width; k++)
                {
                    var value = row[keys[k]]!;
                    if (texts is not null)
                    {
                        texts[i] = Encoding.UTF8.GetBytes(value as string ?? throw new ProntoException(ErrorCode.InvalidArgument, $"column '{keys[k]}' must be text, got {value.GetType().Name}"));
                    }
                    else
                    {
                        features![(i * width) + k] = value switch
                        {
                            bool b => b ? 1f : 0f,
                            string => throw new ProntoException(ErrorCode.InvalidArgument, $"column '{keys[k]}' ({expected[k]}) must be numeric, got VARCHAR"),
                            System.Numerics.BigInteger big => (float)big,
                            IConvertible c => c.ToSingle(CultureInfo.InvariantCulture),
                            _ => throw new ProntoException(ErrorCode.InvalidArgument, $"column '{keys[k]}' ({expected[k]}) must be numeric, got {value.GetType().Name}"),
                        };
                    }
                }
            }

            return texts is not null ? SqlModel.TextInputs(texts) : sql.FeatureInputs(features!, count);
        }

        /// <summary>The struct's field for each model argument, matched case-insensitively.</summary>
        private static string[] MapKeys(SqlModel sql, ICollection<string> available)
        {
            var keys = new string[sql.ArgumentNames.Count];
            for (var k = 0; k < keys.Length; k++)
            {
                var wanted = sql.ArgumentNames[k];
                keys[k] = available.FirstOrDefault(a => string.Equals(a, wanted, StringComparison.OrdinalIgnoreCase))
                    ?? throw new ProntoException(ErrorCode.InvalidArgument, $"model '{sql.Name}' needs a column '{wanted}'; the row has {string.Join(", ", available)} (the model's inputs are {string.Join(", ", sql.ArgumentNames)})");
            }

            return keys;
        }
    }

    private static bool IsNumeric(DuckDBType type) => type is DuckDBType.Boolean or DuckDBType.TinyInt or DuckDBType.SmallInt
        or DuckDBType.Integer or DuckDBType.BigInt or DuckDBType.UnsignedTinyInt or DuckDBType.UnsignedSmallInt
        or DuckDBType.UnsignedInteger or DuckDBType.UnsignedBigInt or DuckDBType.Float or DuckDBType.Double
        or DuckDBType.Decimal or DuckDBType.HugeInt;

    private static float ReadNumber(IDuckDBDataReader reader, DuckDBType type, ulong row) => type switch
    {
        DuckDBType.Double => (float)reader.GetValue<double>(row),
        DuckDBType.Float => reader.GetValue<float>(row),
        DuckDBType.Integer => reader.GetValue<int>(row),
        DuckDBType.BigInt => reader.GetValue<long>(row),
        DuckDBType.SmallInt => reader.GetValue<short>(row),
        DuckDBType.TinyInt => reader.GetValue<sbyte>(row),
        DuckDBType.UnsignedTinyInt => reader.GetValue<byte>(row),
        DuckDBType.UnsignedSmallInt => reader.GetValue<ushort>(row),
        DuckDBType.UnsignedInteger => reader.GetValue<uint>(row),
        DuckDBType.UnsignedBigInt => reader.GetValue<ulong>(row),
        DuckDBType.Decimal => (float)reader.GetValue<decimal>(row),
        DuckDBType.Boolean => reader.GetValue<bool>(row) ? 1f : 0f,
        _ => (float)Convert.ToDouble(reader.GetValue(row), CultureInfo.InvariantCulture),
    };

    internal static string TypeName(DuckDBType type) => type switch
    {
        DuckDBType.Varchar => "VARCHAR",
        DuckDBType.Struct => "STRUCT",
        DuckDBType.List => "LIST",
        DuckDBType.Array => "ARRAY",
        DuckDBType.Date => "DATE",
        DuckDBType.Timestamp => "TIMESTAMP",
        DuckDBType.Blob => "BLOB",
        _ => type.ToString().ToUpperInvariant(),
    };
}
