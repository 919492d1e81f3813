using DuckDB.NET.Data;
using Pronto.Core.Errors;
using Pronto.Core.Generation;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Sql.Tests;

/// <summary><c>pronto_generate</c> on the tests' tiny decoder: each row's text equals the engine's greedy completion, over more rows than the decode loop runs at once.</summary>
public sealed class GenerateFunctionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-sql-generate-").FullName;
    private readonly ModelRepository _repository;

    public GenerateFunctionTests()
    {
        TinyDecoder.Write(_root, "tiny", extraParameters: new Dictionary<string, string>
        {
            ["pronto.generative.max_running"] = "3",
            ["pronto.generative.max_waiting"] = "2",
        });
        TinyModels.WriteAddConstant(_root, "adder", 1f, 2);
        _repository = new ModelRepository(_root, [new OnnxBackend()]);
        _repository.Load("tiny");
        _repository.Load("adder");
    }

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private Task<string> Greedy(string prompt, int maxTokens) => Complete(prompt, new SamplingParameters { Temperature = 0, MaxTokens = maxTokens });

    private async Task<string> Complete(string prompt, SamplingParameters parameters)
    {
        using var lease = _repository.Acquire("tiny");
        var model = lease.Model.Generative!;
        var text = new System.Text.StringBuilder();
        await foreach (var chunk in model.Engine.Generate(model.Tokenizer.Encode(prompt), parameters, CancellationToken.None))
        {
            text.Append(chunk.Text);
        }

        return text.ToString();
    }

    [Fact]
    public async Task Each_prompt_gets_the_engine_s_greedy_completion_and_null_stays_null()
    {
        using var sql = new SqlSession(new InferenceService(_repository));
        // 10 prompts: more than max_running (3) or max_waiting (2) at once, so the window keeps the queue from overflowing.
        var prompts = Enumerable.Range(0, 10).Select(i => $"prompt number {i}").ToArray();
        sql.Execute("CREATE TABLE t AS SELECT * FROM (VALUES " + string.Join(", ", prompts.Select((p, i) => $"({i}, '{p}')")) + ", (10, NULL)) v(id, prompt)");

        var rows = sql.Rows("SELECT id, pronto_generate('tiny', prompt, 6) FROM t ORDER BY id");
        for (var i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(await Greedy(prompts[i], 6), rows[i][1]);
        }

        Assert.Null(rows[10][1]);
        Assert.Equal(10, sql.Functions.Generations);
        Assert.Equal(await Greedy("hello", GenerateFunction.DefaultMaxTokens), sql.Scalar("SELECT pronto_generate('tiny', 'hello')"));
    }

    [Fact]
    public async Task A_temperature_samples_each_row_from_its_seed_and_the_same_seeds_give_the_same_text()
    {
        using var sql = new SqlSession(new InferenceService(_repository));
        sql.Execute("CREATE TABLE t AS SELECT i AS id, 'prompt number ' || i AS prompt FROM range(6) r(i)");

        const string Query = "SELECT id, pronto_generate('tiny', prompt, 6, 1.0, id + 100) FROM t ORDER BY id";
        var first = sql.Rows(Query);
        Assert.Equal(first.Select(r => r[1]), sql.Rows(Query).Select(r => r[1]));
        for (var i = 0; i < 6; i++)
        {
            var expected = await Complete($"prompt number {i}", new SamplingParameters { Temperature = 1, Seed = 100UL + (ulong)i, MaxTokens = 6 });
            Assert.Equal(expected, first[i][1]);
        }

        // Sampling drew other tokens than greedy decoding (fixed weights and seeds: this holds every run).
        Assert.NotEqual(sql.Rows("SELECT id, pronto_generate('tiny', prompt, 6) FROM t ORDER BY id").Select(r => r[1]), first.Select(r => r[1]));

        // A NULL temperature is greedy.
        Assert.Equal(await Greedy("prompt number 0", 6), sql.Scalar("SELECT pronto_generate('tiny', 'prompt number 0', 6, NULL, 5)"));
    }

    [Theory]
    [InlineData("SELECT pronto_generate('adder', 'x')", "pronto_generate('adder'): model 'adder' is not a generative model", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_generate('ghost', 'x')", "pronto_generate('ghost'): unknown model 'ghost'", ErrorCode.NotFound)]
    [InlineData("SELECT pronto_generate('tiny', 'x', 0)", "pronto_generate(): max_tokens must be at least 1, got 0", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_generate('tiny', 'x', 'many')", "pronto_generate(): max_tokens must be an integer, got Varchar", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_generate('tiny', 42)", "pronto_generate(): the model name and the prompt must be VARCHAR", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_generate('tiny', 'x', 4, 3.0, 1)", "pronto_generate('tiny'): 'temperature' must be from 0 to 2, got 3", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_generate('tiny', 'x', 4, 'hot', 1)", "pronto_generate(): temperature must be a number, got Varchar", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_generate('tiny', 'x', 4, 0.7, -1)", "pronto_generate(): seed must not be negative, got -1", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_generate('tiny')", "pronto_generate(): takes (model, prompt [, max_tokens [, temperature [, seed]]])", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_generate('tiny', repeat('a b ', 100))", "pronto_generate('tiny'): ", ErrorCode.InvalidArgument)]
    public void A_failure_is_a_sql_error_naming_the_reason_and_the_connection_stays_usable(string query, string message, ErrorCode code)
    {
        using var sql = new SqlSession(new InferenceService(_repository));
        var error = Assert.Throws<DuckDBException>(() => sql.Rows(query));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal(code, sql.Functions.TakeLastFailure()?.Code);
        Assert.Equal(1, sql.Scalar("SELECT 1"));
    }
}
