using DuckDB.NET.Data;

namespace Pronto.Sql;

/// <summary>
/// <c>ml_predict(model, query)</c>, in the spirit of BigQuery ML's ML.PREDICT: the query's rows with
/// <c>predicted_label</c> and <c>predicted_probability</c> appended, columns mapped to the model's inputs by name.
/// A table macro over DuckDB's <c>query()</c> rather than a DuckDB.NET table function: a table function's bind
/// callback cannot run a query on the connection that is binding it, while a macro lets DuckDB plan the inner
/// query itself (streaming, parallel, pushed-down) and still sends each chunk to the engine in one run. Each row
/// reaches the scalar functions as a STRUCT, which they map to the model's inputs by field name.
/// </summary>
internal static class MlPredict
{
    public const string Name = "ml_predict";

    // TEMP: a persistent database file must not keep a macro that names functions only this process registers.
    private const string Definition = """
        CREATE OR REPLACE TEMP MACRO ml_predict(model, q) AS TABLE
            SELECT *, pronto_label(model, row_) AS predicted_label, pronto_predict(model, row_) AS predicted_probability
            FROM query(q) AS row_
        """;

    public static void Register(DuckDBConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Definition;
        command.ExecuteNonQuery();
    }
}
