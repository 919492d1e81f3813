using System.Data.Common;
using DuckDB.NET.Data;
using Pronto.Core.Errors;
using Pronto.Core.Inference;

namespace Pronto.Sql;

/// <summary>
/// One DuckDB connection (a database file, created if missing, or in memory) with Pronto's SQL functions registered,
/// for hosts that run SQL without handling DuckDB themselves (<c>pronto sql</c>, scheduled SQL jobs). Every DuckDB
/// error leaves as a <see cref="ProntoException"/>: a SQL function's failure keeps its <see cref="ErrorCode"/>,
/// anything else (bad SQL, a missing table) is <see cref="ErrorCode.InvalidArgument"/>, with DuckDB's message.
/// </summary>
public sealed class SqlSession : IDisposable
{
    private readonly DuckDBConnection _connection;

    private SqlSession(DuckDBConnection connection, ProntoSqlFunctions functions)
    {
        _connection = connection;
        Functions = functions;
    }

    public ProntoSqlFunctions Functions { get; }

    /// <summary>
    /// Opens <paramref name="database"/> (null or empty: in memory) and registers the functions over
    /// <paramref name="service"/> (<see cref="ProntoSql.Register"/>); a database that cannot be opened is invalid argument.
    /// </summary>
    public static SqlSession Open(InferenceService service, string? database, ISqlTrainer? trainer = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        var connection = new DuckDBConnection($"DataSource={(string.IsNullOrEmpty(database) ? ":memory:" : database)}");
        try
        {
            connection.Open();
            return new SqlSession(connection, ProntoSql.Register(connection, service, trainer: trainer));
        }
        catch (DuckDBException e)
        {
            connection.Dispose();
            throw new ProntoException(ErrorCode.InvalidArgument, $"cannot open database '{database}': {e.Message.Trim()}", e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs every statement of <paramref name="sql"/>, handing each result that has columns to
    /// <paramref name="onResult"/> while it is open (read it there). Cancelling interrupts the running statement.
    /// </summary>
    public void Query(string sql, Action<DbDataReader> onResult, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(onResult);
        Guard(sql, cancellationToken, command =>
        {
            using var reader = command.ExecuteReader();
            do
            {
                if (reader.FieldCount > 0)
                {
                    onResult(reader);
                }
            }
            while (reader.NextResult());
            return 0;
        });
    }

    /// <summary>Runs every statement of <paramref name="sql"/>; returns DuckDB's rows changed, summed over them.</summary>
    public long Execute(string sql, CancellationToken cancellationToken = default) =>
        Guard(sql, cancellationToken, command => command.ExecuteNonQuery());

    /// <summary>
    /// Writes one query's result to <paramref name="path"/> with DuckDB's COPY (streamed, never held in memory), in
    /// the format its extension names (<see cref="CheckOutputPath"/>); returns the rows written.
    /// </summary>
    public long Copy(string sql, string path, CancellationToken cancellationToken = default)
    {
        var format = OutputFormat(path);
        var query = sql.Trim().TrimEnd(';').Trim();
        return Execute($"COPY ({query}) TO '{path.Replace("'", "''", StringComparison.Ordinal)}' ({format})", cancellationToken);
    }

    /// <summary>Throws invalid argument unless <paramref name="path"/> ends in .parquet, .csv, .jsonl or .ndjson.</summary>
    public static void CheckOutputPath(string path) => OutputFormat(path);

    public void Dispose() => _connection.Dispose();

    private static string OutputFormat(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".parquet" => "FORMAT parquet",
        ".csv" => "FORMAT csv, HEADER",
        ".jsonl" or ".ndjson" => "FORMAT json",
        var other => ProntoErrors.InvalidArgument<string>($"--output '{path}': unknown format '{other}'; use .parquet, .csv or .jsonl"),
    };

    private long Guard(string sql, CancellationToken cancellationToken, Func<DuckDBCommand, long> run)
    {
        Functions.TakeLastFailure();
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        using var interrupt = cancellationToken.Register(static c => ((DuckDBCommand)c!).Cancel(), command);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            return run(command);
        }
        catch (DuckDBException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var code = Functions.TakeLastFailure()?.Code ?? ErrorCode.InvalidArgument;
            throw new ProntoException(code, e.Message.Trim(), e);
        }
    }
}
