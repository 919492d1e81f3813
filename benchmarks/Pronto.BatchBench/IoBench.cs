using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using ParquetSharp;

/// <summary>
/// The I/O ceiling of a batch job (issue 17): a library reads the input and writes an output of the job's shape
/// (every input column, then predicted_label, predicted_probability and predicted_probabilities) with no model.
/// </summary>
internal static class IoBench
{
    /// <summary>io ENGINE IN OUT [CODEC]: ENGINE parquetsharp or duckdb; prints CPU-s per 1,000 rows and rows/s.</summary>
    public static void Run(string engine, string input, string output, string codec)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var rows = engine switch
        {
            "parquetsharp" => ParquetSharpCopy(input, output, codec),
            "duckdb" => DuckDbCopy(input, output, codec),
            _ => throw new ArgumentException($"unknown engine '{engine}' (parquetsharp, duckdb)"),
        };
        var seconds = clock.Elapsed.TotalSeconds;
        var used = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"io {engine} {codec}: {rows} rows, wall {seconds:F2} s, {rows / seconds:F0} rows/s, {used * 1000 / rows:G3} CPU-s per 1,000 rows, {new FileInfo(output).Length} bytes"));
    }

    private static long ParquetSharpCopy(string input, string output, string codec)
    {
        using var reader = new ParquetFileReader(input);
        var schema = reader.FileMetaData.Schema;
        var names = Enumerable.Range(0, schema.NumColumns).Select(c => schema.Column(c).Name).ToArray();
        var types = Enumerable.Range(0, schema.NumColumns).Select(c => schema.Column(c).PhysicalType).ToArray();
        ParquetSharp.Column[] columns =
        [
            .. names.Select((n, c) => types[c] == PhysicalType.Int64 ? (ParquetSharp.Column)new Column<long>(n) : new Column<float>(n)),
            new Column<string>("predicted_label"),
            new Column<float>("predicted_probability"),
            new Column<float[]>("predicted_probabilities"),
        ];
        using var properties = new WriterPropertiesBuilder().Compression(CodecOf(codec)).DisableStatistics().Build();
        using var writer = new ParquetFileWriter(output, columns, properties);
        long total = 0;
        for (var g = 0; g < reader.FileMetaData.NumRowGroups; g++)
        {
            using var group = reader.RowGroup(g);
            var n = checked((int)group.MetaData.NumRows);
            using var outGroup = writer.AppendRowGroup();
            for (var c = 0; c < names.Length; c++)
            {
                if (types[c] == PhysicalType.Int64)
                {
                    var values = new long[n];
                    using (var column = group.Column(c).LogicalReader<long>())
                    {
                        column.ReadBatch(values);
                    }

                    using var w = outGroup.NextColumn().LogicalWriter<long>();
                    w.WriteBatch(values);
                }
                else
                {
                    var values = new float[n];
                    using (var column = group.Column(c).LogicalReader<float>())
                    {
                        column.ReadBatch(values);
                    }

                    using var w = outGroup.NextColumn().LogicalWriter<float>();
                    w.WriteBatch(values);
                }
            }

            var labels = new string[n];
            var probability = new float[n];
            var probabilities = new float[n][];
            for (var r = 0; r < n; r++)
            {
                labels[r] = (r & 63) == 0 ? "fraud" : "legit";
                probability[r] = r * 1e-6f;
                probabilities[r] = [1 - probability[r], probability[r]];
            }

            using (var w = outGroup.NextColumn().LogicalWriter<string>())
            {
                w.WriteBatch(labels);
            }

            using (var w = outGroup.NextColumn().LogicalWriter<float>())
            {
                w.WriteBatch(probability);
            }

            using (var w = outGroup.NextColumn().LogicalWriter<float[]>())
            {
                w.WriteBatch(probabilities);
            }

            total += n;
        }

        writer.Close();
        return total;
    }

    private static long DuckDbCopy(string input, string output, string codec)
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            COPY (SELECT *, CASE WHEN id % 64 = 0 THEN 'fraud' ELSE 'legit' END AS predicted_label,
                (id * 1e-6)::FLOAT AS predicted_probability,
                [1 - (id * 1e-6)::FLOAT, (id * 1e-6)::FLOAT] AS predicted_probabilities
              FROM read_parquet('{input}')) TO '{output}' (FORMAT parquet, COMPRESSION {codec})
            """;
        return command.ExecuteNonQuery();
    }

    private static Compression CodecOf(string codec) => codec switch
    {
        "snappy" => Compression.Snappy,
        "zstd" => Compression.Zstd,
        "none" or "uncompressed" => Compression.Uncompressed,
        _ => throw new ArgumentException($"unknown codec '{codec}' (snappy, zstd, none)"),
    };
}
