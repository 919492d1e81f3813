using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DuckDB.NET.Data;
using ParquetSharp;
using ParquetSharp.Schema;

/// <summary>
/// The I/O ceiling of a batch job (issue 17 item 2, (b)): a library reads the input and writes an output of the job's
/// shape with no model, at its best: arrays reused, physical reads and writes, the job's writer settings (kept columns
/// OPTIONAL, dictionary for the label only, no statistics).
/// fraud Parquet input, shape <c>all</c>: every input column, then predicted_label, predicted_probability and
/// predicted_probabilities (2 floats); shape <c>id</c>: only <c>id</c> kept. A JSONL input (minilm's texts): every
/// field (id, text), then predicted_embedding (384 floats).
/// </summary>
internal static class IoBench
{
    private const int EmbeddingWidth = 384;
    private const int GroupRows = 65_536;

    /// <summary>io ENGINE IN OUT [CODEC] [SHAPE]: ENGINE parquetsharp or duckdb; prints CPU-s per 1,000 rows and rows/s.</summary>
    public static void Run(string engine, string input, string output, string codec, string shape)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var rows = (engine, Path.GetExtension(input)) switch
        {
            ("parquetsharp", ".jsonl") => TextCopy(input, output, codec),
            ("parquetsharp", _) => ParquetSharpCopy(input, output, codec, shape == "id"),
            ("duckdb", _) => DuckDbCopy(input, output, codec),
            _ => throw new ArgumentException($"unknown engine '{engine}' (parquetsharp, duckdb)"),
        };
        var seconds = clock.Elapsed.TotalSeconds;
        var used = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"io {engine} {codec} {shape}: {rows} rows, wall {seconds:F2} s, {rows / seconds:F0} rows/s, {used * 1000 / rows:G3} CPU-s per 1,000 rows, {new FileInfo(output).Length} bytes"));
    }

    private static PrimitiveNode Optional(string name, PhysicalType type, LogicalType? logical = null) => new(name, Repetition.Optional, logical ?? LogicalType.None(), type);

    private static GroupNode FloatList(string name) => new(name, Repetition.Optional,
        [new GroupNode("list", Repetition.Repeated, [new PrimitiveNode("element", Repetition.Required, LogicalType.None(), PhysicalType.Float)])], LogicalType.List());

    private static ParquetSharp.ParquetFileWriter Writer(string output, string codec, Node[] nodes)
    {
        using var schema = new GroupNode("schema", Repetition.Required, nodes);
        using var builder = new WriterPropertiesBuilder();
        builder.Compression(CodecOf(codec)).DisableStatistics().DisableDictionary();
        if (nodes.Any(n => n.Name == "predicted_label"))
        {
            builder.EnableDictionary("predicted_label");
        }

        using var properties = builder.Build();
        return new ParquetSharp.ParquetFileWriter(output, schema, properties);
    }

    private static long ParquetSharpCopy(string input, string output, string codec, bool idsOnly)
    {
        using var reader = new ParquetFileReader(input);
        var schema = reader.FileMetaData.Schema;
        var read = Enumerable.Range(0, idsOnly ? 1 : schema.NumColumns).ToArray();
        Node[] nodes =
        [
            .. read.Select(c => Optional(schema.Column(c).Name, schema.Column(c).PhysicalType)),
            Optional("predicted_label", PhysicalType.ByteArray, LogicalType.String()),
            new PrimitiveNode("predicted_probability", Repetition.Required, LogicalType.None(), PhysicalType.Float),
            FloatList("predicted_probabilities"),
        ];
        using var writer = Writer(output, codec, nodes);
        var longs = new long[GroupRows];
        var floats = new float[GroupRows];
        var ones = new short[GroupRows * 2];
        ones.AsSpan().Fill(1);
        var labels = new string[GroupRows];
        var probability = new float[GroupRows];
        var probabilities = new float[GroupRows * 2];
        var listLevels = new short[GroupRows * 2];
        listLevels.AsSpan().Fill(2);
        var repetition = new short[GroupRows * 2];
        long total = 0;
        for (var g = 0; g < reader.FileMetaData.NumRowGroups; g++)
        {
            using var group = reader.RowGroup(g);
            var n = checked((int)group.MetaData.NumRows);
            EnsureLength(ref longs, n);
            EnsureLength(ref floats, n);
            using var outGroup = writer.AppendRowGroup();
            foreach (var c in read)
            {
                using var column = group.Column(c);
                using var w = outGroup.NextColumn();
                if (column is ColumnReader<long> longReader)
                {
                    ReadAll(longReader, longs, n);
                    ((ColumnWriter<long>)w).WriteBatch(n, ones, default, longs.AsSpan(0, n));
                }
                else
                {
                    ReadAll((ColumnReader<float>)column, floats, n);
                    ((ColumnWriter<float>)w).WriteBatch(n, ones, default, floats.AsSpan(0, n));
                }
            }

            for (var r = 0; r < n; r++)
            {
                probability[r] = (total + r) * 1e-6f;
                labels[r] = (r & 63) == 0 ? "fraud" : "legit";
                probabilities[2 * r] = 1 - probability[r];
                probabilities[(2 * r) + 1] = probability[r];
                repetition[2 * r] = 0;
                repetition[(2 * r) + 1] = 1;
            }

            using (var w = outGroup.NextColumn().LogicalWriter<string>())
            {
                w.WriteBatch(labels.AsSpan(0, n));
            }

            using (var w = outGroup.NextColumn())
            {
                ((ColumnWriter<float>)w).WriteBatch(probability.AsSpan(0, n));
            }

            using (var w = outGroup.NextColumn())
            {
                ((ColumnWriter<float>)w).WriteBatch(2 * n, listLevels, repetition, probabilities.AsSpan(0, 2 * n));
            }

            total += n;
        }

        writer.Close();
        return total;
    }

    /// <summary>minilm's shape: JSONL lines {"id": n, "text": "..."} parsed with System.Text.Json, written as id, text and a 384-float embedding.</summary>
    private static long TextCopy(string input, string output, string codec)
    {
        using var writer = Writer(output, codec, [Optional("id", PhysicalType.Int64), Optional("text", PhysicalType.ByteArray, LogicalType.String()), FloatList("predicted_embedding")]);
        var ids = new long[4096];
        var texts = new string?[4096];
        var ones = new short[4096];
        ones.AsSpan().Fill(1);
        var values = ids.Length * EmbeddingWidth;
        var embedding = new float[values];
        var levels = new short[values];
        levels.AsSpan().Fill(2);
        var repetition = new short[values];
        repetition.AsSpan().Fill(1);
        for (var r = 0; r < ids.Length; r++)
        {
            repetition[r * EmbeddingWidth] = 0;
        }

        var random = new Random(1);
        long total = 0;
        var n = 0;
        void Flush()
        {
            if (n == 0)
            {
                return;
            }

            for (var i = 0; i < n * EmbeddingWidth; i++)
            {
                embedding[i] = random.NextSingle();
            }

            using var group = writer.AppendRowGroup();
            using (var w = group.NextColumn())
            {
                ((ColumnWriter<long>)w).WriteBatch(n, ones, default, ids.AsSpan(0, n));
            }

            using (var w = group.NextColumn().LogicalWriter<string?>())
            {
                w.WriteBatch(texts.AsSpan(0, n));
            }

            using (var w = group.NextColumn())
            {
                ((ColumnWriter<float>)w).WriteBatch(n * EmbeddingWidth, levels, repetition, embedding.AsSpan(0, n * EmbeddingWidth));
            }

            total += n;
            n = 0;
        }

        foreach (var line in File.ReadLines(input))
        {
            using var json = JsonDocument.Parse(line);
            ids[n] = json.RootElement.GetProperty("id").GetInt64();
            texts[n] = json.RootElement.GetProperty("text").GetString();
            if (++n == ids.Length)
            {
                Flush();
            }
        }

        Flush();
        writer.Close();
        return total;
    }

    private static void EnsureLength<T>(ref T[] array, int length)
    {
        if (array.Length < length)
        {
            array = new T[length];
        }
    }

    private static void ReadAll<T>(ColumnReader<T> reader, T[] values, int rows)
        where T : unmanaged
    {
        var levels = ArrayPool<short>.Shared.Rent(rows);
        for (var done = 0; done < rows;)
        {
            done += (int)reader.ReadBatch(rows - done, levels.AsSpan(0, rows - done), default, values.AsSpan(done), out _);
        }

        ArrayPool<short>.Shared.Return(levels);
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
