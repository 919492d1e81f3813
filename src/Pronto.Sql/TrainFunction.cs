using DuckDB.NET.Data;
using DuckDB.NET.Native;
using Pronto.Core.Errors;
using Pronto.Core.Inference;

namespace Pronto.Sql;

/// <summary>One trained version, as <c>pronto_train</c> returns it (one row).</summary>
public sealed record SqlTraining(string Model, long Version, bool Promoted, string Reason, string Metric, double Value, string ReportJson);

/// <summary>
/// Trains a model from a query's rows for <c>pronto_train</c>. Pronto.Sql ships none (training needs ML.NET, in
/// Pronto.Models): the host registers one, as <c>pronto sql</c> does; without one the function does not exist.
/// </summary>
public interface ISqlTrainer
{
    /// <param name="how">A base model's name (fine-tune on its embeddings: the first column holds texts, or images as
    /// BLOBs or paths) or <c>classification</c> / <c>regression</c> (a table: every column but the last is a feature).</param>
    /// <param name="columns">The query's column names; the last is the label.</param>
    SqlTraining Train(string model, string how, IReadOnlyList<string> columns, IReadOnlyList<object?[]> rows, InferenceService service);
}

/// <summary>
/// <c>SELECT * FROM pronto_train('NAME', 'minilm' | 'classification' | 'regression', 'SELECT ... FROM t')</c>: runs
/// the query (on a second connection to the same database: a function cannot query its own connection while it is
/// bound), trains through <see cref="ISqlTrainer"/>, loads the new version when it is promoted (so <c>pronto_label</c>
/// and <c>ml_predict</c> use it in the same session), and returns one row: model, version, promoted, reason, metric,
/// value, report (report.json's text).
/// </summary>
internal static class TrainFunction
{
    public const string Name = "pronto_train";

    public static void Register(DuckDBConnection connection, ProntoSqlFunctions functions, ISqlTrainer trainer)
    {
        connection.RegisterTableFunction<string, string, string>(Name, parameters =>
        {
            var model = parameters[0].GetValue<string>();
            var how = parameters[1].GetValue<string>();
            var query = parameters[2].GetValue<string>();
            SqlTraining result;
            try
            {
                var (columns, rows) = Read(connection, query);
                if (columns.Count < 2)
                {
                    ProntoErrors.InvalidArgument($"the query gives {columns.Count} column(s); it must give the data then the label last");
                }

                result = trainer.Train(model, how, columns, rows, functions.Service);
                if (result.Promoted)
                {
                    functions.Service.Repository.Load(model);
                }
            }
            catch (ProntoException e)
            {
                throw functions.Fail(Name, model, e);
            }
            catch (DuckDBException e)
            {
                throw functions.Fail(Name, model, ErrorCode.InvalidArgument, $"the training query failed: {e.Message.Trim()}");
            }

            return new TableFunction(
                [
                    new ColumnInfo("model", typeof(string)), new ColumnInfo("version", typeof(long)), new ColumnInfo("promoted", typeof(bool)),
                    new ColumnInfo("reason", typeof(string)), new ColumnInfo("metric", typeof(string)), new ColumnInfo("value", typeof(double)),
                    new ColumnInfo("report", typeof(string)),
                ],
                new[] { result });
        }, (item, writers, row) =>
        {
            var r = (SqlTraining)item!;
            writers[0].WriteValue(r.Model, row);
            writers[1].WriteValue(r.Version, row);
            writers[2].WriteValue(r.Promoted, row);
            writers[3].WriteValue(r.Reason, row);
            writers[4].WriteValue(r.Metric, row);
            writers[5].WriteValue(r.Value, row);
            writers[6].WriteValue(r.ReportJson, row);
        });
    }

    private static (List<string> Columns, List<object?[]> Rows) Read(DuckDBConnection connection, string query)
    {
        using var second = connection.Duplicate();
        second.Open();
        using var command = second.CreateCommand();
        command.CommandText = query;
        using var reader = command.ExecuteReader();
        var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var values = new object?[reader.FieldCount];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = reader.IsDBNull(i) ? null : reader.GetValue(i) switch
                {
                    // A BLOB is a stream over the current row: copied now.
                    Stream blob => ReadAll(blob),
                    var value => value,
                };
            }

            rows.Add(values);
        }

        return (columns, rows);
    }

    private static byte[] ReadAll(Stream stream)
    {
        using (stream)
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }
    }
}
