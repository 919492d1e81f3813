using System.Diagnostics;
using System.Globalization;
using System.Text;
using Parquet;
using Parquet.Schema;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Models;
using Pronto.Models.Fraud;
using Pronto.Onnx;

// gen-fraud FILE ROWS | gen-text FILE ROWS | raw MODEL INPUT_ROWS [RUNS] | io ENGINE IN OUT [CODEC] [all|id] | sql-score IN OUT [CODEC]
// raw: rows/s of IModelInstance.Run on pre-built tensors, RUNS batches at once (default 1), each on cores / RUNS
// intra-op threads: RUNS 1 is one run at a time across all cores, RUNS = cores is one single-threaded run per core.
var command = args.Length > 0 ? args[0] : "";
switch (command)
{
    case "gen-fraud":
        await GenerateFraudAsync(args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
        return 0;
    case "gen-text":
        GenerateText(args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
        return 0;
    case "read":
        {
            var clock = Stopwatch.StartNew();
            var source = await Pronto.Batch.Input.InputSource.OpenAsync(args[1], 1 << 16, CancellationToken.None);
            long n = 0;
            await foreach (var row in source.ReadRowsAsync(CancellationToken.None))
            {
                n += row.Values.Length;
            }

            Console.WriteLine($"read {n} values in {clock.Elapsed.TotalSeconds:F2} s");
            return 0;
        }

    case "io":
        IoBench.Run(args[1], args[2], args[3], args.Length > 4 ? args[4] : "snappy", args.Length > 5 ? args[5] : "all");
        return 0;
    case "sql-score":
        SqlScore(args[1], args[2], args.Length > 3 ? args[3] : "snappy");
        return 0;
    case "raw":
        Raw(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 1);
        return 0;
    default:
        Console.Error.WriteLine("usage: gen-fraud FILE ROWS | gen-text FILE ROWS | raw fraud|minilm ROWS [RUNS]");
        return 2;
}

static async Task GenerateFraudAsync(string path, int rows)
{
    var fields = FraudFeatures.Names.Select(n => new DataField<float>(n)).ToArray();
    var id = new DataField<long>("id");
    await using var stream = File.Create(path);
    await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema([id, .. fields]), stream);
    var generator = new TransactionGenerator(42);
    for (var start = 0; start < rows; start += 65_536)
    {
        var n = Math.Min(65_536, rows - start);
        var chunk = generator.Generate(n).ToArray();
        using var group = writer.CreateRowGroup();
        await group.WriteAsync(id, (ReadOnlyMemory<long>)Enumerable.Range(start, n).Select(i => (long)i).ToArray());
        for (var f = 0; f < fields.Length; f++)
        {
            var values = new float[n];
            for (var i = 0; i < n; i++)
            {
                values[i] = chunk[i].ToFeatures()[f];
            }

            await group.WriteAsync(fields[f], (ReadOnlyMemory<float>)values);
        }
    }
}

// sql-score IN OUT [CODEC]: the DuckDB candidate with the model: COPY (SELECT *, pronto_predict(...)) TO ... (FORMAT parquet).
static void SqlScore(string input, string output, string codec)
{
    var root = ZooPaths.DefaultRepository();
    BundledRepository.Ensure(root);
    using var repository = new ModelRepository(root, [new OnnxBackend()]);
    repository.Load("fraud");
    using var connection = new DuckDB.NET.Data.DuckDBConnection("DataSource=:memory:");
    connection.Open();
    Pronto.Sql.ProntoSql.Register(connection, new InferenceService(repository));
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    using var command = connection.CreateCommand();
    command.CommandText = $"COPY (SELECT *, pronto_predict('fraud', {string.Join(", ", FraudFeatures.Names)}) AS predicted_probability FROM read_parquet('{input}')) TO '{output}' (FORMAT parquet, COMPRESSION {codec})";
    var rows = Convert.ToInt64(command.ExecuteNonQuery(), CultureInfo.InvariantCulture);
    var seconds = clock.Elapsed.TotalSeconds;
    var used = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sql-score duckdb {codec}: {rows} rows, wall {seconds:F2} s, {rows / seconds:F0} rows/s, {used * 1000 / rows:G3} CPU-s per 1,000 rows"));
}

static IEnumerable<string> Texts(int rows)
{
    string[] subjects = ["my card", "the refund", "this invoice", "the app", "my password", "the delivery", "a payment", "the account"];
    string[] verbs = ["was charged twice", "has not arrived", "keeps failing", "looks wrong", "was declined", "needs an update", "is missing", "got blocked"];
    string[] tails = ["since yesterday", "at the store", "after the update", "on my phone", "for the third time", "please help", "again today", "last week"];
    for (var i = 0; i < rows; i++)
    {
        yield return $"ticket {i}: {subjects[i % 8]} {verbs[i / 8 % 8]} {tails[i / 64 % 8]}";
    }
}

static void GenerateText(string path, int rows)
{
    using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
    var id = 0;
    foreach (var text in Texts(rows))
    {
        writer.Write("{\"id\":");
        writer.Write(id++);
        writer.Write(",\"text\":\"");
        writer.Write(text);
        writer.Write("\"}\n");
    }
}

static void Raw(string model, int rows, int runs)
{
    var root = ZooPaths.DefaultRepository();
    BundledRepository.Ensure(root);
    // The thread settings `pronto batch --concurrent-runs RUNS` uses: ORT's one intra-op pool sized cores / RUNS.
    var intraOp = Math.Max(1, Environment.ProcessorCount / runs);
    using var repository = new ModelRepository(root, [new OnnxBackend(new OnnxBackendOptions { IntraOpThreads = intraOp })]);
    repository.Load(model);
    using var lease = repository.Acquire(model);
    var served = lease.Model;
    var outputs = served.Config.Outputs.Select(o => o.Name).ToArray();
    int[] sizes = model == "fraud" ? [256, 1024, 4096] : [16, 32, 64];
    var best = (Size: 0, RowsPerSecond: 0.0, Cpu: 0.0);
    foreach (var size in sizes)
    {
        // Pre-built tensors: preparation (feature parsing, tokenization) is outside the measured loop.
        var batches = new List<IReadOnlyList<NamedTensor>>();
        if (model == "fraud")
        {
            var preparer = (Pronto.Core.Processing.FieldsPreparer)served.Processing.Preparer!;
            var generator = new TransactionGenerator(42);
            for (var start = 0; start < rows; start += size)
            {
                var n = Math.Min(size, rows - start);
                var features = new float[n * 6];
                var i = 0;
                foreach (var t in generator.Generate(n))
                {
                    t.CopyFeaturesTo(features.AsSpan(i++ * 6, 6));
                }

                batches.Add([preparer.FromRows(features, n)]);
            }
        }
        else
        {
            var texts = Texts(rows).ToArray();
            for (var start = 0; start < rows; start += size)
            {
                var n = Math.Min(size, rows - start);
                batches.Add(served.Processing.Preparer!.Prepare(Tensor.FromStrings(texts[start..(start + n)])));
            }
        }

        served.Instance.Run(batches[0], outputs, CancellationToken.None);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        // RUNS threads take the next batch until none is left (one thread: the batches in order).
        var next = -1;
        var threads = Enumerable.Range(0, runs).Select(_ => new Thread(() =>
        {
            int b;
            while ((b = Interlocked.Increment(ref next)) < batches.Count)
            {
                served.Instance.Run(batches[b], outputs, CancellationToken.None);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        var rate = rows / clock.Elapsed.TotalSeconds;
        // The process's CPU over the loop (ORT's threads and the caller): the same measure as the job summary's.
        var cpuPerThousand = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds * 1000 / rows;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"raw {model} batch {size} x {runs} runs ({intraOp} intra-op threads each): {rate:F0} rows/s, {cpuPerThousand:G3} CPU-s per 1,000 rows"));
        if (rate > best.RowsPerSecond)
        {
            best = (size, rate, cpuPerThousand);
        }
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"raw {model} best: batch {best.Size} x {runs} runs, {best.Cpu:G3} CPU-s per 1,000 rows, {best.RowsPerSecond:F0} rows/s"));
}
