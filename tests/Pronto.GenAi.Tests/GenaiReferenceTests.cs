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

    [Fact]
    public void A_legacy_sentencepiece_tokenizer_encodes_as_onnx_runtime_genai_s_tokenizer_does()
    {
        // GenAI's tokenizer (onnxruntime-extensions) reads a folder with a genai_config.json beside tokenizer.json.
        var folder = Path.Combine(_root, "spm");
        var tokenizer = GenerativeTokenizer.Load(SentencePieceBpe.Write(folder));
        File.WriteAllText(Path.Combine(folder, "genai_config.json"), """
            {"model": {"type": "llama", "vocab_size": 1, "context_length": 1, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0,
             "decoder": {"filename": "none.onnx", "head_size": 1, "hidden_size": 1, "num_attention_heads": 1, "num_hidden_layers": 1, "num_key_value_heads": 1}}}
            """);
        using var genai = new Tokenizer(folder);
        foreach (var text in (string[])["hello world é", "hello  world", " hello", "<s>hello</s>", "world hello\nhe", "héllo wörld ✓"])
        {
            using var sequences = genai.Encode(text);
            Assert.Equal(sequences[0].ToArray(), tokenizer.Encode(text));
        }
    }
}
