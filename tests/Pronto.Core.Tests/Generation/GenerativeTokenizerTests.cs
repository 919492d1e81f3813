using Pronto.Core.Generation;
using Pronto.Testing;

namespace Pronto.Core.Tests.Generation;

/// <summary>tokenizer.json (byte-level BPE) read into Microsoft.ML.Tokenizers' BpeTokenizer.</summary>
public sealed class GenerativeTokenizerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-tokenizer-").FullName;
    private readonly GenerativeTokenizer _tokenizer;

    public GenerativeTokenizerTests()
    {
        TinyDecoder.WriteTokenizer(_root);
        _tokenizer = GenerativeTokenizer.Load(Path.Combine(_root, "tokenizer.json"));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Merges_apply_and_special_tokens_written_in_text_become_their_ids()
    {
        Assert.Equal(TinyDecoder.VocabSize, _tokenizer.VocabSize);

        // " the" is merge 2 (256 + 2), "he" merge 1, "er" merge 6; '\n' is byte 10.
        Assert.Equal([258], _tokenizer.Encode(" the"));
        Assert.Equal([TinyDecoder.ImStartId, 'u', 's', 262, 10, 't', 257, TinyDecoder.ImEndId], _tokenizer.Encode("<|im_start|>user\nthe<|im_end|>"));
        Assert.Equal(TinyDecoder.ImEndId, _tokenizer.TokenId(TinyDecoder.ImEnd));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void A_template_post_processor_s_special_tokens_go_around_a_prompt_and_not_around_plain_text(bool inSequence, bool suffix)
    {
        var folder = Path.Combine(_root, $"post-{inSequence}-{suffix}");
        Directory.CreateDirectory(folder);
        TinyDecoder.WriteTokenizer(folder);
        TinyDecoder.AddBosPostProcessor(folder, inSequence, suffix);
        var tokenizer = GenerativeTokenizer.Load(Path.Combine(folder, "tokenizer.json"));

        int[] text = [.. _tokenizer.Encode("the hat")];
        Assert.Equal(text, tokenizer.Encode("the hat"));
        Assert.Equal([TinyDecoder.EndOfTextId, .. text, .. suffix ? new[] { TinyDecoder.ImEndId } : []], tokenizer.EncodePrompt("the hat"));

        // Without a post-processor (the tests' usual tokenizer) a prompt is its text's ids.
        Assert.Equal(text, _tokenizer.EncodePrompt("the hat"));
    }

    [Fact]
    public void A_post_processor_naming_a_token_it_gives_no_ids_for_is_refused_with_the_file()
    {
        var folder = Path.Combine(_root, "post-bad");
        Directory.CreateDirectory(folder);
        TinyDecoder.WriteTokenizer(folder);
        TinyDecoder.AddBosPostProcessor(folder);
        var path = Path.Combine(folder, "tokenizer.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"ids\":[" + TinyDecoder.EndOfTextId + "]", "\"idz\":[]", StringComparison.Ordinal));
        var e = Assert.Throws<Pronto.Core.Errors.ProntoException>(() => GenerativeTokenizer.Load(path));
        Assert.Equal($"'{path}': the post-processor's template names '<|endoftext|>', which its special_tokens do not give ids for", e.Message);
    }

    [Theory]
    [InlineData("the cat and the hat sat on the mat")]
    [InlineData("Zürich, 3 × 4 = 12 — ok?\n\ttabs")]
    public void Decode_of_encode_gives_the_text_back(string text) =>
        Assert.Equal(text, _tokenizer.Decode(_tokenizer.Encode(text)));

    [Fact]
    public void Decode_leaves_special_tokens_out() =>
        Assert.Equal("hi", _tokenizer.Decode([TinyDecoder.ImStartId, 'h', 'i', TinyDecoder.ImEndId]));
}
