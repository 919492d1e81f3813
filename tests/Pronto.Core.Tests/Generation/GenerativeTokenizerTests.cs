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

    private GenerativeTokenizer Pieces(bool metaspace) =>
        GenerativeTokenizer.Load(SentencePieceBpe.Write(Path.Combine(_root, metaspace ? "spm-metaspace" : "spm-legacy"), metaspace));

    private static int P(string piece) => SentencePieceBpe.Id(piece);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_sentencepiece_bpe_encodes_spaces_as_the_word_mark_and_unknown_characters_as_their_bytes(bool metaspace)
    {
        // Llama 2's legacy layout (Prepend + Replace normalizers) and the newer one (Metaspace, prepend_scheme first).
        var tokenizer = Pieces(metaspace);
        Assert.Equal(SentencePieceBpe.VocabSize, tokenizer.VocabSize);

        // "▁hello▁world▁é": merged words, a lone "▁", and é (not in the vocabulary) as its UTF-8 bytes C3 A9.
        Assert.Equal([P("▁hello"), P("▁world"), P("▁"), SentencePieceBpe.ByteId(0xC3), SentencePieceBpe.ByteId(0xA9)], tokenizer.Encode("hello world é"));
        Assert.Equal([P("▁hello"), P("▁"), P("▁world")], tokenizer.Encode("hello  world"));
        Assert.Equal([SentencePieceBpe.Bos, P("▁hello")], tokenizer.EncodePrompt("hello"));
        Assert.Equal(SentencePieceBpe.Eos, tokenizer.TokenId("</s>"));
        Assert.Equal(P("▁world"), tokenizer.TokenId("▁world"));

        // The bytes and text of pieces: ▁ is a space, a byte token its byte; decoding keeps the first word's space
        // (the text continues a prompt) and leaves special tokens out.
        Assert.Equal([0xC3], tokenizer.TokenBytes(SentencePieceBpe.ByteId(0xC3)));
        Assert.Equal(" hello", tokenizer.TokenText(P("▁hello")));
        Assert.Equal(" hello world é", tokenizer.Decode([SentencePieceBpe.Bos, .. tokenizer.Encode("hello world é"), SentencePieceBpe.Eos]));
    }

    [Fact]
    public void The_two_sentencepiece_layouts_differ_where_hugging_face_s_do_after_a_special_token_and_before_a_space()
    {
        // Legacy: every section between added tokens is prefixed with ▁, even one that starts with a space.
        var legacy = Pieces(metaspace: false);
        Assert.Equal([SentencePieceBpe.Bos, P("▁hello"), SentencePieceBpe.Eos], legacy.Encode("<s>hello</s>"));
        Assert.Equal([P("▁"), P("▁hello")], legacy.Encode(" hello"));

        // Metaspace "first": only the text's first section, and not when it already starts with ▁.
        var metaspace = Pieces(metaspace: true);
        Assert.Equal([SentencePieceBpe.Bos, P("h"), P("e"), P("ll"), P("o"), SentencePieceBpe.Eos], metaspace.Encode("<s>hello</s>"));
        Assert.Equal([P("▁hello")], metaspace.Encode(" hello"));
    }

    [Fact]
    public void A_normalizer_or_pre_tokenizer_pronto_does_not_read_is_refused_with_the_file_and_type()
    {
        var path = SentencePieceBpe.Write(Path.Combine(_root, "spm-precompiled"));
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"type\":\"Prepend\"", "\"type\":\"Precompiled\"", StringComparison.Ordinal));
        var e = Assert.Throws<Pronto.Core.Errors.ProntoException>(() => GenerativeTokenizer.Load(path));
        Assert.Equal(Pronto.Core.Errors.ErrorCode.Unsupported, e.Code);
        Assert.Equal($"'{path}': normalizer type 'Precompiled' is not supported; Pronto reads Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD and Lowercase", e.Message);

        var split = SentencePieceBpe.Write(Path.Combine(_root, "spm-whitespace"), metaspace: true);
        File.WriteAllText(split, File.ReadAllText(split).Replace("\"type\":\"Metaspace\"", "\"type\":\"Whitespace\"", StringComparison.Ordinal));
        e = Assert.Throws<Pronto.Core.Errors.ProntoException>(() => GenerativeTokenizer.Load(split));
        Assert.Equal($"'{split}': pre-tokenizer 'Whitespace' is not supported for a BPE that is not byte-level; Pronto reads Metaspace (or none) there", e.Message);
    }
}
