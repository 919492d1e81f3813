using System.Globalization;
using System.Text;
using System.Text.Json;
using Parquet;
using Parquet.Schema;
using Pronto.Batch.Input;
using Pronto.Batch.Scoring;
using Pronto.Cli;
using Pronto.Core.Inference;
using Pronto.Models.Fraud;
using Pronto.Testing;

namespace Pronto.Batch.Tests;

/// <summary>Inputs generated from the fraud transaction generator, the CLI run in-process, and outputs read back.</summary>
internal static class BatchTestData
{
    public static readonly string[] Fields = ["amount", "customer_avg_amount", "merchant_category", "hour", "distance_km", "txn_last_hour"];

    public static Transaction[] Transactions(int count, int seed = 7) => [.. new TransactionGenerator(seed).Generate(count)];

    public static string Temp()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pronto-batch-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static string F(float v) => v.ToString("R", CultureInfo.InvariantCulture);

    public static void WriteCsv(string path, Transaction[] rows)
    {
        var text = new StringBuilder("id," + string.Join(",", Fields) + "\n");
        for (var i = 0; i < rows.Length; i++)
        {
            var t = rows[i];
            text.Append(CultureInfo.InvariantCulture, $"t{i},{F(t.Amount)},{F(t.CustomerAvgAmount)},{F(t.MerchantCategory)},{F(t.Hour)},{F(t.DistanceKm)},{F(t.TxnLastHour)}\n");
        }

        File.WriteAllText(path, text.ToString());
    }

    public static async Task WriteParquetAsync(string path, Transaction[] rows)
    {
        var id = new DataField<string>("id");
        var fields = Fields.Select(f => new DataField<double>(f)).ToArray();
        var schema = new ParquetSchema([id, .. fields]);
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(schema, stream);
        foreach (var chunk in rows.Select((t, i) => (t, i)).Chunk(700))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(id, chunk.Select(c => "t" + c.i.ToString(CultureInfo.InvariantCulture)).ToArray());
            for (var f = 0; f < fields.Length; f++)
            {
                var values = chunk.Select(c => (double)c.t.ToFeatures()[f]).ToArray();
                await group.WriteAsync(fields[f], (ReadOnlyMemory<double>)values);
            }
        }
    }

    /// <summary>What the model says about each transaction, computed through InferenceService directly.</summary>
    public static float[][] Expected(BundledRepositoryFixture fixture, Transaction[] rows)
    {
        var features = new float[rows.Length * 6];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i].CopyFeaturesTo(features.AsSpan(i * 6, 6));
        }

        using var lease = fixture.Repository.Acquire("fraud");
        var preparer = (Core.Processing.FieldsPreparer)lease.Model.Processing.Preparer!;
        var result = new float[rows.Length][];
        for (var start = 0; start < rows.Length; start += 4096)
        {
            var n = Math.Min(4096, rows.Length - start);
            var response = fixture.Service.InferDirect(new InferenceRequest { ModelName = "fraud", Inputs = [preparer.FromRows(features.AsSpan(start * 6, n * 6).ToArray(), n)] });
            var p = response.Outputs[0].Tensor.Span<float>();
            for (var i = 0; i < n; i++)
            {
                result[start + i] = p.Slice(i * 2, 2).ToArray();
            }
        }

        return result;
    }

    public static async Task<(int Code, string Output, string Error)> CliAsync(BundledRepositoryFixture fixture, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await ProntoCli.RunAsync(["-r", fixture.Root, .. args], output, error);
        return (code, output.ToString(), error.ToString());
    }

    public static List<JsonElement> ReadJsonl(string path) =>
        [.. File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    /// <summary>Flat columns of a Parquet output, read by the batch input reader (lists are not input columns).</summary>
    public static async Task<(IReadOnlyList<Column> Columns, List<object?[]> Rows)> ReadParquetAsync(string path)
    {
        var source = await InputSource.OpenAsync(path, 1 << 16, CancellationToken.None);
        var rows = new List<object?[]>();
        await foreach (var row in source.ReadRowsAsync(CancellationToken.None))
        {
            rows.Add(row.Values);
        }

        return (source.Columns, rows);
    }

    /// <summary>
    /// Rows boxed as <see cref="TableFile"/> takes them (a trailing list column as float[] of one length) as one batch
    /// for a part writer: the flat columns as kept columns, the lists as the scores.
    /// </summary>
    internal static ScoredColumns Batch(IReadOnlyList<Column> columns, IReadOnlyList<object?[]> rows)
    {
        var lists = columns[^1].Kind == ColumnKind.FloatList;
        var flat = lists ? columns.Count - 1 : columns.Count;
        var group = TableFile.ToColumns([.. columns.Take(flat)], [.. rows.Select(r => r[..flat])]);
        var per = lists && rows.Count > 0 ? ((float[])rows[0][^1]!).Length : 0;
        float[]? scores = lists ? [.. rows.SelectMany(r => (float[])r[^1]!)] : null;
        return new ScoredColumns(new ColumnChunk(group, 0, rows.Count), group.Columns, null, rows.Count, null, null, scores, per);
    }
}
