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

    private async Task<string> Greedy(string prompt, int maxTokens)
    {
        using var lease = _repository.Acquire("tiny");
        var model = lease.Model.Generative!;
        var text = new System.Text.StringBuilder();
        await foreach (var chunk in model.Engine.Generate(model.Tokenizer.Encode(prompt), new SamplingParameters { Temperature = 0, MaxTokens = maxTokens }, CancellationToken.None))
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

    [Theory]
    [InlineData("SELECT pronto_generate('adder', 'x')", "pronto_generate('adder'): model 'adder' is not a generative model", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_generate('ghost', 'x')", "pronto_generate('ghost'): unknown model 'ghost'", ErrorCode.NotFound)]
    [InlineData("SELECT pronto_generate('tiny', 'x', 0)", "pronto_generate(): max_tokens must be at least 1, got 0", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_generate('tiny', 'x', 'many')", "pronto_generate(): max_tokens must be an integer, got Varchar", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_generate('tiny', 42)", "pronto_generate(): the model name and the prompt must be VARCHAR", ErrorCode.InvalidArgument)]
    [InlineData("SELECT pronto_generate('tiny')", "pronto_generate(): takes (model, prompt) or (model, prompt, max_tokens)", ErrorCode.InvalidArgument)]
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
