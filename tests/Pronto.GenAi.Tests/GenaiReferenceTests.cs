using Microsoft.ML.OnnxRuntimeGenAI;
using Pronto.Core.Generation;
using Pronto.Core.Repository;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.GenAi.Tests;

/// <summary>
/// ONNX Runtime GenAI 0.20.0's own greedy loop (one Generator, its KV cache) and Pronto's decode loop on the same
/// genai-layout folder (the tiny decoder under GenAI-style names, written by the test): the same tokens.
/// Pronto's OnnxBackend is created first: ONNX Runtime has one environment per process and Pronto's sessions need
/// the one with global thread pools, which GenAI would not create.
/// </summary>
public sealed class GenaiReferenceTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-genai-reference-").FullName;
    private readonly ModelRepository _repository;

    public GenaiReferenceTests()
    {
        TinyDecoder.WriteGenai(_root, "tiny");
        TinyDecoder.WriteGenai(_root, "gqa", groupQueryAttention: true);
        _repository = new ModelRepository(_root, [new OnnxBackend()]);
        _repository.Load("tiny");
        _repository.Load("gqa");
    }

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Theory]
    [InlineData("tiny", new[] { 84, 104, 105, 115, 32, 105, 115, 32, 97, 32, 116, 101, 115, 116 }, 12)]
    [InlineData("tiny", new[] { 72, 101, 108, 108, 111 }, 20)]
    [InlineData("gqa", new[] { 84, 104, 105, 115, 32, 105, 115, 32, 97, 32, 116, 101, 115, 116 }, 12)]
    [InlineData("gqa", new[] { 72, 101, 108, 108, 111 }, 20)]
    public async Task Greedy_tokens_equal_onnx_runtime_genai_generator(string name, int[] prompt, int tokens)
    {
        // "gqa": the same weights with GroupQueryAttention, the attention GenAI's model builder writes.
        var pronto = new List<int>();
        using (var lease = _repository.Acquire(name))
        {
            await foreach (var chunk in lease.Model.Generative!.Engine.Generate(prompt, new SamplingParameters { Temperature = 0, MaxTokens = tokens, IgnoreEos = true }, CancellationToken.None))
            {
                pronto.Add(chunk.TokenId);
            }
        }

        using var model = new Model(Path.Combine(_root, name, "1"));
        using var parameters = new GeneratorParams(model);
        parameters.SetSearchOption("max_length", prompt.Length + tokens);
        parameters.SetSearchOption("do_sample", false);
        using var generator = new Generator(model, parameters);
        generator.AppendTokens(prompt);
        while (!generator.IsDone())
        {
            generator.GenerateNextToken();
        }

        var reference = generator.GetSequence(0).ToArray()[prompt.Length..];
        Assert.Equal(tokens, pronto.Count);
        Assert.Equal(pronto.ToArray(), reference);
    }
}
