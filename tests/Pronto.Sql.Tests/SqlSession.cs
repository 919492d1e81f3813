using DuckDB.NET.Data;
using Pronto.Core.Inference;

namespace Pronto.Sql.Tests;

/// <summary>A DuckDB connection with Pronto's functions registered, and small query helpers.</summary>
internal sealed class SqlSession : IDisposable
{
    public SqlSession(InferenceService service, string dataSource = ":memory:")
    {
        Connection = new DuckDBConnection($"DataSource={dataSource}");
        Connection.Open();

        // One thread: chunks then arrive one after another in scan order, so run counts are exact.
        Execute("SET threads = 1");
        Functions = ProntoSql.Register(Connection, service);
    }

    public DuckDBConnection Connection { get; }

    public ProntoSqlFunctions Functions { get; }

    public void Execute(string sql)
    {
        using var command = Connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public List<object?[]> Rows(string sql)
    {
        using var command = Connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    public List<string> Columns(string sql)
    {
        using var command = Connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        return [.. Enumerable.Range(0, reader.FieldCount).Select(reader.GetName)];
    }

    public object? Scalar(string sql) => Rows(sql)[0][0];

    public void Dispose() => Connection.Dispose();
}
