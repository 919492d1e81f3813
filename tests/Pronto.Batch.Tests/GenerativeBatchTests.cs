using System.Text;
using System.Text.Json;
using Pronto.Core.Errors;
using Pronto.Core.Generation;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Onnx;
using Pronto.Testing;
using static Pronto.Batch.Tests.BatchTestData;

namespace Pronto.Batch.Tests;

/// <summary>
/// <c>pronto batch</c> with a generative model (the tests' tiny decoder): a prompt column becomes <c>predicted_text</c>,
/// each row the engine's greedy completion; a bad prompt costs its row; the text does not depend on the batching; a
/// job stopped after a committed part resumes to the same bytes.
/// </summary>
public sealed class GenerativeBatchTests : IDisposable
{
    private const int MaxTokens = 6;
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-batch-generate-").FullName;
    private readonly ModelRepository _repository;
    private readonly InferenceService _service;

    public GenerativeBatchTests()
    {
        TinyDecoder.Write(_root, "tiny", extraParameters: new Dictionary<string, string>
        {
            ["pronto.generative.max_running"] = "4",
            ["pronto.generative.max_waiting"] = "4",
        });
        _repository = new ModelRepository(_root, [new OnnxBackend(new OnnxBackendOptions { IntraOpThreads = 1 })]);
        _repository.Load("tiny");
        _service = new InferenceService(_repository);
    }

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>Row i's prompt: text, except row 5 (empty), 9 (null) and 13 (longer than the context).</summary>
    private static string? Prompt(int i) => i switch
    {
        5 => "",
        9 => null,
        13 => string.Concat(Enumerable.Repeat("a b ", 100)),
        _ => $"ticket {i}: my card was charged twice",
    };

    private static string WriteInput(string dir, int rows)
    {
        var path = Path.Combine(dir, "prompts.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, rows).Select(i => JsonSerializer.Serialize(new Dictionary<string, object?> { ["id"] = i, ["prompt"] = Prompt(i) })));
        return path;
    }

    private Task<string> Greedy(string prompt) => CompleteAsync(prompt, new SamplingParameters { Temperature = 0, MaxTokens = MaxTokens });

    private async Task<string> CompleteAsync(string prompt, SamplingParameters parameters)
    {
        using var lease = _repository.Acquire("tiny");
        var model = lease.Model.Generative!;
        var text = new StringBuilder();
        await foreach (var chunk in model.Engine.Generate(model.Tokenizer.Encode(prompt), parameters, CancellationToken.None))
        {
            text.Append(chunk.Text);
        }

        return text.ToString();
    }

    private Task<BatchJobResult> RunAsync(string input, string output, int runs = 2, int batchSize = 0, bool resume = false, Action<BatchCommitStage, int>? hook = null, float temperature = 0, ulong seed = 0) =>
        BatchJob.RunAsync(_service, new BatchOptions
        {
            Model = "tiny",
            Input = input,
            Output = output,
            PartRows = 8,
            ConcurrentRuns = runs,
            BatchSize = batchSize,
            MaxTokens = MaxTokens,
            Temperature = temperature,
            Seed = seed,
            Resume = resume,
            CommitHook = hook,
        });

    [Fact]
    public async Task Each_prompt_gets_the_engine_s_greedy_completion_and_a_bad_prompt_costs_only_its_row()
    {
        var dir = Temp();
        var input = WriteInput(dir, 30);
        var output = Path.Combine(dir, "out.parquet");
        var result = await RunAsync(input, output);

        Assert.Equal((30, 27, 3, 4), (result.Rows, result.Written, result.Errors, result.PartsWritten));
        var (columns, rows) = await ReadParquetAsync(output);
        // JSON Lines numbers are read as doubles (docs/batch.md).
        Assert.Equal(["id:Double", "prompt:String", "predicted_text:String"], columns.Select(c => $"{c.Name}:{c.Kind}"));
        var ids = Enumerable.Range(0, 30).Where(i => i is not (5 or 9 or 13)).ToArray();
        Assert.Equal(ids.Select(i => (double)i), rows.Select(r => (double)r[0]!));
        foreach (var row in rows)
        {
            var prompt = Prompt((int)(double)row[0]!)!;
            Assert.Equal(prompt, row[1]);
            Assert.Equal(await Greedy(prompt), row[2]);
        }

        var errors = ReadJsonl(result.ErrorsFile);
        Assert.Equal([5L, 9L, 13L], errors.Select(e => e.GetProperty("row").GetInt64()));
        Assert.Equal("column 'prompt' is empty", errors[0].GetProperty("error").GetString());
        Assert.Equal("column 'prompt' is empty", errors[1].GetProperty("error").GetString());
        Assert.StartsWith("the prompt has ", errors[2].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("model 'tiny' reads", errors[2].GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_text_does_not_depend_on_the_batching_and_a_stopped_job_resumes_to_the_same_bytes()
    {
        var dir = Temp();
        var input = WriteInput(dir, 30);
        var reference = Path.Combine(dir, "reference.jsonl");
        await RunAsync(input, reference);

        // One row a batch on one scorer: every sequence runs alone in the decode loop.
        var alone = Path.Combine(dir, "alone.jsonl");
        await RunAsync(input, alone, runs: 1, batchSize: 1);
        Assert.Equal(File.ReadAllBytes(reference), File.ReadAllBytes(alone));

        // The job fails after its second part is committed, then resumes.
        var stopped = Path.Combine(dir, "stopped.jsonl");
        var failure = await Assert.ThrowsAsync<ProntoException>(() => RunAsync(input, stopped, hook: (stage, parts) =>
        {
            if (stage == BatchCommitStage.AfterCheckpoint && parts == 2)
            {
                throw new IOException("stopped by the test");
            }
        }));
        Assert.Contains("stopped by the test; committed parts are kept", failure.Message, StringComparison.Ordinal);
        var resumed = await RunAsync(input, stopped, resume: true);
        Assert.Equal((2, 2), (resumed.PartsSkipped, resumed.PartsWritten));
        Assert.Equal(File.ReadAllBytes(reference), File.ReadAllBytes(stopped));
        Assert.Equal(File.ReadAllBytes(reference + ".errors.jsonl"), File.ReadAllBytes(stopped + ".errors.jsonl"));
    }

    [Fact]
    public async Task Sampled_rows_draw_from_the_seed_plus_their_row_number_whatever_the_batching()
    {
        var dir = Temp();
        var input = WriteInput(dir, 12);
        var sampled = Path.Combine(dir, "sampled.jsonl");
        await RunAsync(input, sampled, temperature: 1, seed: 5);
        var alone = Path.Combine(dir, "alone.jsonl");
        await RunAsync(input, alone, runs: 1, batchSize: 1, temperature: 1, seed: 5);
        Assert.Equal(File.ReadAllBytes(sampled), File.ReadAllBytes(alone));

        var rows = ReadJsonl(sampled);
        Assert.Equal(10, rows.Count);
        foreach (var row in rows)
        {
            var id = (int)row.GetProperty("id").GetDouble();
            var expected = await CompleteAsync(Prompt(id)!, new SamplingParameters { Temperature = 1, Seed = 5UL + (ulong)id, MaxTokens = MaxTokens });
            Assert.Equal(expected, row.GetProperty("predicted_text").GetString());
        }

        // Another seed draws other tokens (the tiny decoder's weights are fixed, so this holds every run).
        var other = Path.Combine(dir, "other.jsonl");
        await RunAsync(input, other, temperature: 1, seed: 6);
        Assert.NotEqual(File.ReadAllText(sampled), File.ReadAllText(other));
    }

    [Fact]
    public async Task A_bad_sampling_option_is_refused_before_any_row_runs()
    {
        var dir = Temp();
        var input = WriteInput(dir, 2);
        var error = await Assert.ThrowsAsync<ProntoException>(() => BatchJob.RunAsync(_service,
            new BatchOptions { Model = "tiny", Input = input, Output = Path.Combine(dir, "out.parquet"), Temperature = 3 }));
        Assert.Equal("'temperature' must be from 0 to 2, got 3", error.Message);
        Assert.False(File.Exists(Path.Combine(dir, "out.parquet")));
    }

    [Fact]
    public async Task Max_tokens_below_one_is_refused_naming_the_option()
    {
        var dir = Temp();
        var input = WriteInput(dir, 2);
        var error = await Assert.ThrowsAsync<ProntoException>(() => BatchJob.RunAsync(_service,
            new BatchOptions { Model = "tiny", Input = input, Output = Path.Combine(dir, "out.parquet"), MaxTokens = 0 }));
        Assert.Equal("--max-tokens must be at least 1, got 0", error.Message);
    }
}
