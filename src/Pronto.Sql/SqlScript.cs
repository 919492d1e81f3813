using Pronto.Core.Errors;
using Pronto.Core.Inference;

namespace Pronto.Sql;

/// <summary>What a script did: the rows DuckDB reports changed, the rows its model calls scored and the engine CPU time they cost.</summary>
/// <param name="RowsChanged">
/// DuckDB's rows changed, summed over the statements: rows inserted, updated, deleted or written by COPY. A SELECT's result
/// is read and dropped, and DuckDB counts no changed rows for it (nor for CREATE TABLE ... AS); 0 when a statement failed.
/// </param>
/// <param name="Failure">The failing statement's error with DuckDB's message, or null; the statements before it stay done.</param>
public sealed record SqlScriptResult(long RowsChanged, long ModelRows, TimeSpan EngineCpuTime, ProntoException? Failure);

/// <summary>
/// Runs a script of DuckDB statements unattended (a scheduled SQL job): one connection for the script, on
/// <paramref name="database"/> or in memory, with <see cref="ProntoSql.Register"/>'s functions over the caller's
/// <see cref="InferenceService"/>, closed at the end.
/// </summary>
public static class SqlScript
{
    /// <summary>
    /// Runs <paramref name="sql"/>. A failing statement is a result (<see cref="SqlScriptResult.Failure"/>, DuckDB's message;
    /// a SQL function's failure keeps its <see cref="ErrorCode"/>, anything else is <see cref="ErrorCode.InvalidArgument"/>)
    /// that still counts the engine time spent; a database that cannot be opened throws. Cancelling interrupts the running
    /// statement (duckdb_interrupt) and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public static SqlScriptResult Run(InferenceService service, string sql, string? database, CancellationToken cancellationToken = default)
    {
        using var session = SqlSession.Open(service, database);
        var functions = session.Functions;
        try
        {
            var rows = session.Execute(sql, cancellationToken);
            return new SqlScriptResult(rows, functions.ModelRows, functions.EngineCpuTime, null);
        }
        catch (ProntoException e)
        {
            return new SqlScriptResult(0, functions.ModelRows, functions.EngineCpuTime, e);
        }
    }
}
