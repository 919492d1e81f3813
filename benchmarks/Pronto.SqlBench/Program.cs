using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using Pronto.Core.Inference;
using Pronto.Core.Processing;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Models;
using Pronto.Onnx;
using Pronto.Sql;

// Rows/s of pronto_predict('fraud', ...) and pronto_embed('minilm', ...) inside DuckDB against raw ONNX Runtime
// (IModelInstance.Run on pre-built tensors, no preparation) at its best batch size. Usage: [fraudRows] [texts]
var fraudRows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
var textCount = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000;

var root = ZooPaths.DefaultRepository();
BundledRepository.Ensure(root);
using var repository = new ModelRepository(root, [new OnnxBackend()]);
repository.Load("fraud");
repository.Load("minilm");
var service = new InferenceService(repository);

using var connection = new DuckDBConnection("DataSource=:memory:");
connection.Open();
var functions = ProntoSql.Register(connection, service);
Execute($"""
    CREATE TABLE tx AS SELECT i AS id,
        ((i * 7919) % 100000) / 37.0 AS amount, 20.0 + (i % 50) * 3.5 AS customer_avg_amount,
        (i % 12)::INTEGER AS merchant_category, (i % 24)::INTEGER AS hour,
        ((i * 37) % 5000) / 7.0 AS distance_km, (i % 9)::INTEGER AS txn_last_hour
    FROM range({fraudRows}) t(i)
    """);
Execute($"""
    CREATE TABLE texts AS SELECT i AS id,
        ['refund not received for order', 'cannot log in to my account', 'package arrived damaged', 'charged twice this month'][(i % 4) + 1] || ' #' || i AS text
    FROM range({textCount}) t(i)
    """);

Console.WriteLine($"machine: {Environment.ProcessorCount} CPUs visible, {CpuModel()}; DuckDB threads {Scalar("SELECT current_setting('threads')")}");
Console.WriteLine("| workload | rows | path | best batch | seconds | rows/s | SQL / raw |");
Console.WriteLine("|---|---|---|---|---|---|---|");

// fraud: the same features, read back from DuckDB so both paths score identical rows.
var features = new float[(long)fraudRows * 6];
using (var command = connection.CreateCommand())
{
    command.CommandText = "SELECT amount, customer_avg_amount, merchant_category, hour, distance_km, txn_last_hour FROM tx ORDER BY id";
    using var reader = command.ExecuteReader();
    long offset = 0;
    while (reader.Read())
    {
        for (var k = 0; k < 6; k++)
        {
            features[offset++] = Convert.ToSingle(reader.GetValue(k), CultureInfo.InvariantCulture);
        }
    }
}

var (fraudBatch, fraudRaw) = BestRaw("fraud", "probabilities", [512, 1024, 2048, 4096], batch => FraudBatches(features, fraudRows, batch));
Scalar("SELECT sum(pronto_predict('fraud', amount, customer_avg_amount, merchant_category, hour, distance_km, txn_last_hour)) FROM tx LIMIT 1000");
var fraudSql = Time(() => Scalar("SELECT sum(pronto_predict('fraud', amount, customer_avg_amount, merchant_category, hour, distance_km, txn_last_hour)) FROM tx"));
Report("fraud pronto_predict", fraudRows, fraudBatch, fraudRaw, fraudSql);

// minilm: raw runs get tensors tokenized beforehand; SQL tokenizes inside the function (the model's own preparer).
var texts = new List<string>(textCount);
using (var command = connection.CreateCommand())
{
    command.CommandText = "SELECT text FROM texts ORDER BY id";
    using var reader = command.ExecuteReader();
    while (reader.Read())
    {
        texts.Add(reader.GetString(0));
    }
}

TextPreparer preparer;
using (var lease = repository.Acquire("minilm"))
{
    preparer = (TextPreparer)lease.Model.Processing.Preparer!;
}

var (textBatch, textRaw) = BestRaw("minilm", "last_hidden_state", [16, 32, 64], batch => TextBatches(preparer, texts, batch));
var textSql = Time(() => Scalar("SELECT sum(pronto_embed('minilm', text)[1]) FROM texts"));
Report("minilm pronto_embed", textCount, textBatch, textRaw, textSql);
Console.WriteLine($"SQL engine runs: {functions.ModelRuns}");
return;

(int Batch, double Seconds) BestRaw(string model, string output, int[] batches, Func<int, List<IReadOnlyList<NamedTensor>>> build)
{
    using var lease = repository.Acquire(model);
    var best = (Batch: 0, Seconds: double.MaxValue);
    foreach (var batch in batches)
    {
        var inputs = build(batch);
        lease.Model.Instance.Run(inputs[0], [output], CancellationToken.None);
        var seconds = Time(() =>
        {
            foreach (var input in inputs)
            {
                lease.Model.Instance.Run(input, [output], CancellationToken.None);
            }

            return 0;
        });
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"raw {model} batch {batch}: {seconds:F2} s"));
        if (seconds < best.Seconds)
        {
            best = (batch, seconds);
        }
    }

    return best;
}

static List<IReadOnlyList<NamedTensor>> FraudBatches(float[] features, int rows, int batch)
{
    var result = new List<IReadOnlyList<NamedTensor>>();
    for (var start = 0; start < rows; start += batch)
    {
        var count = Math.Min(batch, rows - start);
        result.Add([new NamedTensor("features", Tensor.Create(features[(start * 6)..((start + count) * 6)], count, 6))]);
    }

    return result;
}

static List<IReadOnlyList<NamedTensor>> TextBatches(TextPreparer preparer, List<string> texts, int batch)
{
    var result = new List<IReadOnlyList<NamedTensor>>();
    for (var start = 0; start < texts.Count; start += batch)
    {
        result.Add(preparer.Prepare(Tensor.FromStrings(texts.GetRange(start, Math.Min(batch, texts.Count - start)))));
    }

    return result;
}

static void Report(string workload, int rows, int batch, double raw, double sql)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {workload} | {rows:N0} | raw ORT | {batch} | {raw:F2} | {rows / raw:N0} | |"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {workload} | {rows:N0} | DuckDB SQL | chunk 2048 | {sql:F2} | {rows / sql:N0} | {raw / sql:F2} |"));
}

static double Time(Func<object?> action)
{
    var start = Stopwatch.GetTimestamp();
    action();
    return Stopwatch.GetElapsedTime(start).TotalSeconds;
}

static string CpuModel() => File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim() ?? "unknown CPU";

void Execute(string sql)
{
    using var command = connection.CreateCommand();
    command.CommandText = sql;
    command.ExecuteNonQuery();
}

object? Scalar(string sql)
{
    using var command = connection.CreateCommand();
    command.CommandText = sql;
    return command.ExecuteScalar();
}
