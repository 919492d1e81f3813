using System.ClientModel;
using System.Globalization;
using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using Pronto.Core.Generation;
using Pronto.Core.Repository;
using Pronto.Onnx;
using Pronto.Testing;
using ProntoChatMessage = Pronto.Core.Generation.ChatMessage;

namespace Pronto.Server.Tests.OpenAi;

/// <summary>A server over a repository of tiny decoders ("tiny" with a ChatML template, "plain" without, "adder" not generative).</summary>
public sealed class GenerativeServerFixture : IAsyncLifetime
{
    public string Root { get; } = Directory.CreateTempSubdirectory("pronto-openai-gen-").FullName;

    public ProntoServer Server { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    /// <summary>The same models in a repository of the test's own, for expected outputs.</summary>
    public ModelRepository Reference { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        TinyDecoder.Write(Root, "tiny");
        TinyDecoder.Write(Root, "plain", chatTemplate: null);
        TinyDecoder.Write(Root, "llama", chatTemplate: TinyDecoder.LlamaStyleTemplate);
        TinyDecoder.AddBosPostProcessor(TinyDecoder.Write(Root, "bos"));
        TinyDecoder.Write(Root, "budgeted", extraParameters: new Dictionary<string, string> { ["pronto.generative.max_cache_tokens"] = "40" });
        TinyDecoder.WriteGenai(Root, "genai");
        TinyDecoder.Write(Root, "pair");
        File.AppendAllText(Path.Combine(Root, "pair", "config.pbtxt"), "instance_group { count: 2 }\n");
        TinyModels.WriteAddConstant(Root, "adder", 1f, 3);
        Server = await ServerFixture.StartAsync(options => options.ModelRepository = Root);
        Http = new HttpClient { BaseAddress = Server.HttpUri };
        Reference = new ModelRepository(Root, [new OnnxBackend()]);
        Reference.Load("tiny");
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        Reference.Dispose();
        await Server.StopAsync();
        await Server.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }
}

/// <summary>
/// /v1/chat/completions read by the OpenAI .NET SDK, streamed and not; /v1/completions read as JSON and, streamed, with
/// System.Net.ServerSentEvents' SseParser, the parser the SDK streams with (the SDK 2.15 keeps its completions client,
/// LegacyCompletionClient, internal); errors of both.
/// </summary>
public sealed class OpenAiGenerationTests(GenerativeServerFixture fixture) : IClassFixture<GenerativeServerFixture>
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private OpenAIClientOptions ClientOptions => new() { Endpoint = new Uri(fixture.Server.HttpUri, "/v1") };

    /// <summary>Greedy output of the reference engine: (text, tokens, finish).</summary>
    private async Task<(string Text, int Tokens, FinishReason Finish, int PromptTokens)> Expected(string prompt, int maxTokens, bool ignoreEos = false)
    {
        using var lease = fixture.Reference.Acquire("tiny");
        var model = lease.Model.Generative!;
        var ids = model.Tokenizer.Encode(prompt);
        var text = new StringBuilder();
        var tokens = 0;
        FinishReason? finish = null;
        await foreach (var chunk in model.Engine.Generate(ids, new SamplingParameters { Temperature = 0, MaxTokens = maxTokens, IgnoreEos = ignoreEos }, CancellationToken.None))
        {
            tokens++;
            text.Append(chunk.Text);
            finish = chunk.Finish;
        }

        return (text.ToString(), tokens, finish!.Value, ids.Length);
    }

    /// <summary>A streamed response's chunks: the JSON of each event before <c>[DONE]</c>, read with the SDK's SSE parser.</summary>
    private static async IAsyncEnumerable<JsonElement> Chunks(HttpResponseMessage response)
    {
        await foreach (var item in SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync())
        {
            if (item.Data == "[DONE]")
            {
                yield break;
            }

            using var chunk = JsonDocument.Parse(item.Data);
            yield return chunk.RootElement.Clone();
        }
    }

    private Task<HttpResponseMessage> Post(string body, string path = "/v1/completions") =>
        fixture.Http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json")).WaitAsync(Guard);

    private static string ChatPrompt(params ProntoChatMessage[] messages) => ChatTemplate.ChatMl.Render("tiny", messages);

    [Fact]
    public async Task The_SDK_reads_a_chat_completion_equal_to_the_engine_s_greedy_output()
    {
        var expected = await Expected(ChatPrompt(new ProntoChatMessage("system", "be brief"), new ProntoChatMessage("user", "hello there")), 10);
        var client = new ChatClient("tiny", new ApiKeyCredential("unused"), ClientOptions);
        var completion = (await client.CompleteChatAsync(
            [new SystemChatMessage("be brief"), new UserChatMessage("hello there")],
            new ChatCompletionOptions { MaxOutputTokenCount = 10, Temperature = 0 }).WaitAsync(Guard)).Value;

        Assert.Equal(expected.Text, completion.Content[0].Text);
        Assert.Equal(expected.Finish == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(expected.PromptTokens, completion.Usage.InputTokenCount);
        Assert.Equal(expected.Tokens, completion.Usage.OutputTokenCount);
        Assert.Equal("tiny", completion.Model);
        Assert.StartsWith("chatcmpl-", completion.Id, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_SDK_reads_a_streamed_chat_completion_with_usage()
    {
        var expected = await Expected(ChatPrompt(new ProntoChatMessage("user", "tell me a story")), 20);
        var client = new ChatClient("tiny", new ApiKeyCredential("unused"), ClientOptions);
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        var updates = 0;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("tell me a story")], new ChatCompletionOptions { MaxOutputTokenCount = 20, Temperature = 0 }))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(expected.Text, text.ToString());
        Assert.Equal(expected.Finish == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.Equal(expected.PromptTokens, usage.InputTokenCount);
        Assert.Equal(expected.Tokens, usage.OutputTokenCount);
        Assert.True(updates >= 3, $"{updates} updates");
    }

    [Fact]
    public async Task Completions_of_several_prompts_and_of_token_ids()
    {
        var first = await Expected("the cat", 6, ignoreEos: true);
        var second = await Expected("and then", 6, ignoreEos: true);
        using var result = await Post("""{"model":"tiny","prompt":["the cat","and then"],"max_tokens":6,"temperature":0,"ignore_eos":true}""");
        Assert.Equal(HttpStatusCode.OK, result.StatusCode);
        using var doc = JsonDocument.Parse(await result.Content.ReadAsStringAsync());
        var root = doc.RootElement;
        Assert.Equal("text_completion", root.GetProperty("object").GetString());
        var choices = root.GetProperty("choices");
        Assert.Equal(2, choices.GetArrayLength());
        Assert.Equal(first.Text, choices[0].GetProperty("text").GetString());
        Assert.Equal(second.Text, choices[1].GetProperty("text").GetString());
        Assert.Equal(1, choices[1].GetProperty("index").GetInt32());
        Assert.Equal("length", choices[0].GetProperty("finish_reason").GetString());
        Assert.Equal(first.PromptTokens + second.PromptTokens, root.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(12, root.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        // The same prompt as token ids gives the same text.
        using var lease = fixture.Reference.Acquire("tiny");
        var ids = lease.Model.Generative!.Tokenizer.Encode("the cat");
        using var byIds = await Post($$"""{"model":"tiny","prompt":[{{string.Join(",", ids)}}],"max_tokens":6,"temperature":0,"ignore_eos":true}""");
        using var idsDoc = JsonDocument.Parse(await byIds.Content.ReadAsStringAsync());
        Assert.Equal(first.Text, idsDoc.RootElement.GetProperty("choices")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_streamed_completion_is_server_sent_events_exactly_as_OpenAI_frames_them()
    {
        var expected = await Expected("the cat", 12, ignoreEos: true);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent("""{"model":"tiny","prompt":"the cat","max_tokens":12,"temperature":0,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}""", Encoding.UTF8, "application/json"),
        };
        using var response = await fixture.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Guard);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var raw = await response.Content.ReadAsStringAsync().WaitAsync(Guard);

        // Every event is one "data: " line and a blank line; the last is [DONE].
        Assert.EndsWith("data: [DONE]\n\n", raw, StringComparison.Ordinal);
        var events = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        Assert.All(events, e => Assert.DoesNotContain('\n', e));

        // The SDK's own SSE parser reads the same stream.
        var items = new List<string>();
        await foreach (var item in SseParser.Create(new MemoryStream(Encoding.UTF8.GetBytes(raw))).EnumerateAsync())
        {
            items.Add(item.Data);
        }

        Assert.Equal("[DONE]", items[^1]);
        var chunks = items[..^1].Select(i => JsonDocument.Parse(i).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("text_completion", c.GetProperty("object").GetString()));
        var text = string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0).Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString()));
        Assert.Equal(expected.Text, text);
        var finishes = chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0).Select(c => c.GetProperty("choices")[0].GetProperty("finish_reason")).ToList();
        Assert.All(finishes[..^1], f => Assert.Equal(JsonValueKind.Null, f.ValueKind));
        Assert.Equal("length", finishes[^1].GetString());

        // include_usage: usage null on every chunk, then one chunk with no choices and the usage.
        Assert.All(chunks[..^1], c => Assert.Equal(JsonValueKind.Null, c.GetProperty("usage").ValueKind));
        var usage = chunks[^1];
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(expected.PromptTokens, usage.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(12, usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(expected.PromptTokens + 12, usage.GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Penalties_min_p_and_min_tokens_reach_the_engine_on_both_routes()
    {
        var sampling = new SamplingParameters
        {
            Temperature = 0.9f, Seed = 11, MaxTokens = 12, MinTokens = 12, MinP = 0.1f, RepetitionPenalty = 1.5f, PresencePenalty = 0.5f, FrequencyPenalty = 0.25f,
        };
        const string Parameters = """
            "max_tokens":12,"min_tokens":12,"temperature":0.9,"seed":11,"min_p":0.1,"repetition_penalty":1.5,"presence_penalty":0.5,"frequency_penalty":0.25
            """;
        async Task<string> Reference(string prompt, SamplingParameters parameters)
        {
            using var lease = fixture.Reference.Acquire("tiny");
            var model = lease.Model.Generative!;
            var text = new StringBuilder();
            await foreach (var chunk in model.Engine.Generate(model.Tokenizer.Encode(prompt), parameters, CancellationToken.None))
            {
                text.Append(chunk.Text);
            }

            return text.ToString();
        }

        var expected = await Reference("the cat", sampling);
        var plain = await Reference("the cat", sampling with { MinP = 0, RepetitionPenalty = 1, PresencePenalty = 0, FrequencyPenalty = 0 });
        Assert.NotEqual(plain, expected);

        using var completion = await Post($$"""{"model":"tiny","prompt":"the cat",{{Parameters}}}""");
        Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
        using (var doc = JsonDocument.Parse(await completion.Content.ReadAsStringAsync()))
        {
            var choice = doc.RootElement.GetProperty("choices")[0];
            Assert.Equal(expected, choice.GetProperty("text").GetString());
            Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
            Assert.Equal(12, doc.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }

        var chatExpected = await Reference(ChatPrompt(new ProntoChatMessage("user", "hello there")), sampling);
        using var chat = await Post($$"""{"model":"tiny","messages":[{"role":"user","content":"hello there"}],{{Parameters}}}""", "/v1/chat/completions");
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        using (var doc = JsonDocument.Parse(await chat.Content.ReadAsStringAsync()))
        {
            Assert.Equal(chatExpected, doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            Assert.Equal(12, doc.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }
    }

    /// <summary>The reference engine's chunks for a prompt and parameters.</summary>
    private async Task<(List<GenerationChunk> Chunks, int[] PromptIds, string Text)> ReferenceChunks(string prompt, SamplingParameters parameters)
    {
        using var lease = fixture.Reference.Acquire("tiny");
        var model = lease.Model.Generative!;
        var ids = model.Tokenizer.Encode(prompt);
        var chunks = new List<GenerationChunk>();
        await foreach (var chunk in model.Engine.Generate(ids, parameters, CancellationToken.None))
        {
            chunks.Add(chunk);
        }

        return (chunks, ids, string.Concat(chunks.Select(c => c.Text)));
    }

    private string TokenText(int id)
    {
        using var lease = fixture.Reference.Acquire("tiny");
        return lease.Model.Generative!.Tokenizer.TokenText(id);
    }

    [Fact]
    public async Task Completions_return_token_ids_and_legacy_logprobs_equal_to_the_engine_s()
    {
        var expected = await ReferenceChunks("the cat", new SamplingParameters { Temperature = 0.8f, Seed = 3, MaxTokens = 10, IgnoreEos = true, Logprobs = 2 });
        using var response = await Post("""{"model":"tiny","prompt":"the cat","max_tokens":10,"temperature":0.8,"seed":3,"ignore_eos":true,"logprobs":2,"return_token_ids":true}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var choice = doc.RootElement.GetProperty("choices")[0];
        Assert.Equal(expected.Text, choice.GetProperty("text").GetString());
        Assert.Equal(expected.PromptIds, choice.GetProperty("prompt_token_ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(expected.Chunks.Select(c => c.TokenId), choice.GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt32()));

        var logprobs = choice.GetProperty("logprobs");
        var tokens = logprobs.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal(expected.Chunks.Select(c => TokenText(c.TokenId)), tokens);
        Assert.Equal(expected.Chunks.Select(c => c.Logprobs!.Logprob), logprobs.GetProperty("token_logprobs").EnumerateArray().Select(e => e.GetSingle()));
        var offsets = logprobs.GetProperty("text_offset").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(tokens.Select((_, i) => tokens[..i].Sum(t => t.Length)), offsets);
        var tops = logprobs.GetProperty("top_logprobs").EnumerateArray().ToArray();
        for (var j = 0; j < tops.Length; j++)
        {
            // The two most likely and the sampled token (k + 1 at most), token text -> logprob.
            var want = expected.Chunks[j].Logprobs!.Top.Select(t => (TokenText(t.TokenId), t.Logprob)).Append((TokenText(expected.Chunks[j].TokenId), expected.Chunks[j].Logprobs!.Logprob))
                .DistinctBy(t => t.Item1).ToArray();
            Assert.Equal(want, tops[j].EnumerateObject().Select(p => (p.Name, p.Value.GetSingle())));
        }
    }

    [Fact]
    public async Task A_text_prompt_takes_the_tokenizer_s_bos_unless_add_special_tokens_is_false_and_chat_and_token_ids_do_not()
    {
        using var lease = fixture.Reference.Acquire("tiny");
        var tokenizer = lease.Model.Generative!.Tokenizer;
        async Task<int[]> PromptIds(string body, string path = "/v1/completions")
        {
            using var response = await Post(body, path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            // Completions carry them per choice, chat once (vLLM's layout).
            var holder = path == "/v1/completions" ? doc.RootElement.GetProperty("choices")[0] : doc.RootElement;
            return [.. holder.GetProperty("prompt_token_ids").EnumerateArray().Select(e => e.GetInt32())];
        }

        int[] text = tokenizer.Encode("the hat");
        int[] withBos = [TinyDecoder.EndOfTextId, .. text];
        Assert.Equal(withBos, await PromptIds("""{"model":"bos","prompt":"the hat","max_tokens":1,"return_token_ids":true}"""));
        Assert.Equal(text, await PromptIds("""{"model":"bos","prompt":"the hat","max_tokens":1,"return_token_ids":true,"add_special_tokens":false}"""));
        int[] ids = [5, 6, 7];
        Assert.Equal(ids, await PromptIds("""{"model":"bos","prompt":[5,6,7],"max_tokens":1,"return_token_ids":true}"""));
        Assert.Equal(tokenizer.Encode("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"),
            await PromptIds("""{"model":"bos","messages":[{"role":"user","content":"hi"}],"max_tokens":1,"return_token_ids":true}""", "/v1/chat/completions"));
    }

    [Fact]
    public async Task A_model_s_own_jinja_chat_template_renders_the_prompt_and_messages_it_refuses_are_a_400()
    {
        // The prompt the template makes (system message trimmed, its special tokens), as token ids.
        using var lease = fixture.Reference.Acquire("tiny");
        var expected = lease.Model.Generative!.Tokenizer.Encode(
            "<|endoftext|><|im_start|>system\nBe brief.<|im_end|><|im_start|>user\nhello<|im_end|><|im_start|>assistant\n");
        using (var response = await Post(
            """{"model":"llama","messages":[{"role":"system","content":" Be brief. "},{"role":"user","content":"hello"}],"max_tokens":2,"return_token_ids":true}""",
            "/v1/chat/completions"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(expected, doc.RootElement.GetProperty("prompt_token_ids").EnumerateArray().Select(e => e.GetInt32()));
        }

        using var refused = await Post("""{"model":"llama","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}""", "/v1/chat/completions");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        using var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal("model 'llama': its chat template refused the messages: Conversation roles must alternate user/assistant/user/assistant/...",
            error.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Continue_final_message_leaves_the_assistant_s_reply_open_and_chat_echo_writes_it_first_streamed_or_not()
    {
        // The prompt ends right after the assistant's begun reply; the model goes on from there as the engine does alone.
        var prompt = ChatPrompt(new ProntoChatMessage("user", "hello there"), new ProntoChatMessage("assistant", " The cat "));
        prompt = prompt[..(prompt.LastIndexOf("The cat", StringComparison.Ordinal) + "The cat".Length)];
        Assert.EndsWith("<|im_start|>assistant\n The cat", prompt, StringComparison.Ordinal);
        var expected = await ReferenceChunks(prompt, new SamplingParameters { Temperature = 0, MaxTokens = 6, IgnoreEos = true });
        const string Messages = """ "messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":" The cat "}],"add_generation_prompt":false,"continue_final_message":true,"max_tokens":6,"temperature":0,"ignore_eos":true""";

        using (var response = await Post($$"""{"model":"tiny",{{Messages}},"echo":true,"return_token_ids":true}""", "/v1/chat/completions"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(expected.PromptIds, doc.RootElement.GetProperty("prompt_token_ids").EnumerateArray().Select(e => e.GetInt32()));
            var message = doc.RootElement.GetProperty("choices")[0].GetProperty("message");
            Assert.Equal("assistant", message.GetProperty("role").GetString());
            Assert.Equal(" The cat " + expected.Text, message.GetProperty("content").GetString()); // echo: the last message as sent
        }

        // Streamed: the role chunk, the echoed message as a chunk of its own, then the reply's tokens.
        using var streamed = await Post($$"""{"model":"tiny",{{Messages}},"echo":true,"stream":true}""", "/v1/chat/completions");
        Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
        var deltas = new List<string?>();
        await foreach (var chunk in Chunks(streamed))
        {
            var delta = chunk.GetProperty("choices")[0].GetProperty("delta");
            deltas.Add(delta.TryGetProperty("content", out var c) ? c.GetString() : null);
        }

        Assert.Equal(["", " The cat "], deltas.Take(2));
        Assert.Equal(expected.Text, string.Concat(deltas.Skip(2)));

        // Without echo the reply alone; echo does nothing when the reply opens a new assistant message after a user's.
        using (var plain = await Post($$"""{"model":"tiny",{{Messages}}}""", "/v1/chat/completions"))
        {
            using var doc = JsonDocument.Parse(await plain.Content.ReadAsStringAsync());
            Assert.Equal(expected.Text, doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        }

        var opened = await ReferenceChunks(ChatPrompt(new ProntoChatMessage("user", "hello there")), new SamplingParameters { Temperature = 0, MaxTokens = 4, IgnoreEos = true });
        using (var echoed = await Post("""{"model":"tiny","messages":[{"role":"user","content":"hello there"}],"echo":true,"max_tokens":4,"temperature":0,"ignore_eos":true}""", "/v1/chat/completions"))
        {
            using var doc = JsonDocument.Parse(await echoed.Content.ReadAsStringAsync());
            Assert.Equal(opened.Text, doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        }
    }

    [Fact]
    public async Task Tokenize_gives_a_prompt_s_or_chat_s_ids_as_generation_encodes_them_and_detokenize_their_text()
    {
        using var lease = fixture.Reference.Acquire("tiny");
        var tokenizer = lease.Model.Generative!.Tokenizer;
        async Task<JsonElement> Json(string path, string body, HttpStatusCode status = HttpStatusCode.OK)
        {
            using var response = await Post(body, path);
            Assert.Equal(status, response.StatusCode);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return doc.RootElement.Clone();
        }

        static int[] Ids(JsonElement e) => [.. e.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32())];

        // A prompt takes the post-processor's BOS unless add_special_tokens is false, as completions do.
        var text = tokenizer.Encode("the cat");
        var withBos = await Json("/tokenize", """{"model":"bos","prompt":"the cat","return_token_strs":true}""");
        Assert.Equal([TinyDecoder.EndOfTextId, .. text], Ids(withBos));
        Assert.Equal(text.Length + 1, withBos.GetProperty("count").GetInt32());
        Assert.Equal(TinyDecoder.ContextLength, withBos.GetProperty("max_model_len").GetInt32());
        Assert.Equal(["<|endoftext|>", .. text.Select(tokenizer.TokenText)], withBos.GetProperty("token_strs").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(text, Ids(await Json("/tokenize", """{"model":"bos","prompt":"the cat","add_special_tokens":false}""")));

        // Messages: the chat template's prompt, the ids the chat route answers as prompt_token_ids.
        const string Messages = """ "messages":[{"role":"user","content":"hello there"}]""";
        var chat = Ids(await Json("/tokenize", $$"""{"model":"tiny",{{Messages}}}"""));
        Assert.Equal(tokenizer.Encode(ChatPrompt(new ProntoChatMessage("user", "hello there"))), chat);
        var completion = await Json("/v1/chat/completions", $$"""{"model":"tiny",{{Messages}},"max_tokens":1,"return_token_ids":true}""");
        Assert.Equal(chat, completion.GetProperty("prompt_token_ids").EnumerateArray().Select(t => t.GetInt32()));

        // Detokenize: the text back; special tokens left out.
        Assert.Equal("the cat", (await Json("/detokenize", $$"""{"model":"bos","tokens":[{{TinyDecoder.EndOfTextId}},{{string.Join(",", text)}}]}""")).GetProperty("prompt").GetString());

        // Errors in OpenAI's shape: an id outside the vocabulary, a model that is not generative, no prompt; unknown model 404.
        Assert.Equal($"token id {TinyDecoder.VocabSize} is outside the vocabulary of model 'tiny' (0 to {TinyDecoder.VocabSize - 1})",
            (await Json("/detokenize", $$"""{"model":"tiny","tokens":[{{TinyDecoder.VocabSize}}]}""", HttpStatusCode.BadRequest)).GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("model 'adder' is not a generative model",
            (await Json("/tokenize", """{"model":"adder","prompt":"x"}""", HttpStatusCode.BadRequest)).GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("'prompt' (a string) or 'messages' is required",
            (await Json("/tokenize", """{"model":"tiny"}""", HttpStatusCode.BadRequest)).GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("model_not_found", (await Json("/tokenize", """{"model":"nope","prompt":"x"}""", HttpStatusCode.NotFound)).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Add_generation_prompt_false_renders_the_messages_alone_and_the_reply_takes_the_last_message_s_role()
    {
        var expected = await ReferenceChunks(ChatTemplate.ChatMl.Render("tiny", [new ProntoChatMessage("user", "hello there")], addGenerationPrompt: false), new SamplingParameters { Temperature = 0, MaxTokens = 3, IgnoreEos = true });
        using var response = await Post("""{"model":"tiny","messages":[{"role":"user","content":"hello there"}],"add_generation_prompt":false,"max_tokens":3,"temperature":0,"ignore_eos":true,"return_token_ids":true}""", "/v1/chat/completions");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(expected.PromptIds, doc.RootElement.GetProperty("prompt_token_ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("user", doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("role").GetString());
        Assert.Equal(expected.Text, doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task Chat_logprobs_carry_each_token_s_bytes_and_top_alternatives_and_return_token_ids_the_prompt_s()
    {
        var expected = await ReferenceChunks(ChatPrompt(new ProntoChatMessage("user", "hello there")), new SamplingParameters { Temperature = 0, MaxTokens = 12, IgnoreEos = true, Logprobs = 2 });
        using var response = await Post(
            """{"model":"tiny","messages":[{"role":"user","content":"hello there"}],"max_tokens":12,"temperature":0,"ignore_eos":true,"logprobs":true,"top_logprobs":2,"return_token_ids":true}""",
            "/v1/chat/completions");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(expected.PromptIds, doc.RootElement.GetProperty("prompt_token_ids").EnumerateArray().Select(e => e.GetInt32()));
        var choice = doc.RootElement.GetProperty("choices")[0];
        Assert.Equal(expected.Chunks.Select(c => c.TokenId), choice.GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt32()));
        var content = choice.GetProperty("logprobs").GetProperty("content").EnumerateArray().ToArray();
        Assert.Equal(expected.Chunks.Count, content.Length);
        var bytes = new List<byte>();
        for (var j = 0; j < content.Length; j++)
        {
            var entry = content[j];
            var token = entry.GetProperty("bytes").EnumerateArray().Select(e => (byte)e.GetInt32()).ToArray();
            bytes.AddRange(token);
            Assert.Equal(Encoding.UTF8.GetString(token), entry.GetProperty("token").GetString());
            Assert.Equal(expected.Chunks[j].Logprobs!.Logprob, entry.GetProperty("logprob").GetSingle());
            var top = entry.GetProperty("top_logprobs").EnumerateArray().ToArray();
            Assert.Equal(expected.Chunks[j].Logprobs!.Top.Select(t => (TokenText(t.TokenId), t.Logprob)), top.Select(t => (t.GetProperty("token").GetString()!, t.GetProperty("logprob").GetSingle())));
            Assert.Equal(entry.GetProperty("token").GetString(), top[0].GetProperty("token").GetString()); // greedy: the most likely
        }

        // The tokens' bytes are exactly the generated text's.
        Assert.Equal(expected.Text, Encoding.UTF8.GetString([.. bytes]));
        Assert.Equal(expected.Text, choice.GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task Echo_puts_each_prompt_s_text_before_its_completion_streamed_or_not()
    {
        var parameters = new SamplingParameters { Temperature = 0, MaxTokens = 6, IgnoreEos = true };
        var first = await ReferenceChunks("the cat", parameters);
        var second = await ReferenceChunks("and then", parameters);
        using (var response = await Post("""{"model":"tiny","prompt":["the cat","and then"],"max_tokens":6,"temperature":0,"ignore_eos":true,"echo":true,"n":2}"""))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var texts = doc.RootElement.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("text").GetString()!).ToArray();
            Assert.Equal(["the cat" + first.Text, "the cat" + first.Text, "and then" + second.Text, "and then" + second.Text], texts);
            Assert.Equal(4 * 6, doc.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }

        // Token ids are echoed by their decoded text.
        var ids = string.Join(",", first.PromptIds);
        using var streamed = await Post($$"""{"model":"tiny","prompt":[{{ids}}],"max_tokens":6,"temperature":0,"ignore_eos":true,"echo":true,"stream":true}""");
        Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
        var chunks = new List<string>();
        await foreach (var chunk in Chunks(streamed))
        {
            chunks.Add(chunk.GetProperty("choices")[0].GetProperty("text").GetString()!);
        }

        Assert.StartsWith("the cat", chunks[0], StringComparison.Ordinal);
        Assert.Equal("the cat" + first.Text, string.Concat(chunks));
    }

    [Fact]
    public async Task Echo_with_logprobs_lists_the_prompt_s_tokens_first_the_first_without_a_logprob_streamed_or_not()
    {
        var parameters = new SamplingParameters { Temperature = 0, MaxTokens = 4, IgnoreEos = true, Logprobs = 1, PromptLogprobs = 1 };
        var expected = await ReferenceChunks("and then", parameters);
        var promptLogprobs = expected.Chunks[0].PromptLogprobs!;
        Assert.Equal(expected.PromptIds.Length - 1, promptLogprobs.Count);
        string[] promptTokens = [.. expected.PromptIds.Select(TokenText)];
        string[] completionTokens = [.. expected.Chunks.Select(c => TokenText(c.TokenId))];

        void AssertLogprobs(List<string> tokens, List<double?> logprobs, List<int> offsets)
        {
            Assert.Equal([.. promptTokens, .. completionTokens], tokens);
            Assert.Equal([null, .. promptLogprobs.Select(l => (double?)l.Logprob), .. expected.Chunks.Select(c => (double?)c.Logprobs!.Logprob)], logprobs, new CloseComparer());
            var at = 0;
            Assert.Equal([.. tokens.Select(t => { var o = at; at += t.Length; return o; })], offsets);
        }

        using (var response = await Post("""{"model":"tiny","prompt":"and then","max_tokens":4,"temperature":0,"ignore_eos":true,"echo":true,"logprobs":1}"""))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var choice = doc.RootElement.GetProperty("choices")[0];
            Assert.Equal("and then" + expected.Text, choice.GetProperty("text").GetString());
            var logprobs = choice.GetProperty("logprobs");
            Assert.Equal(JsonValueKind.Null, logprobs.GetProperty("top_logprobs")[0].ValueKind);
            Assert.Equal(JsonValueKind.Object, logprobs.GetProperty("top_logprobs")[1].ValueKind);
            AssertLogprobs(
                [.. logprobs.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()!)],
                [.. logprobs.GetProperty("token_logprobs").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? (double?)null : e.GetDouble())],
                [.. logprobs.GetProperty("text_offset").EnumerateArray().Select(e => e.GetInt32())]);
        }

        using var streamed = await Post("""{"model":"tiny","prompt":"and then","max_tokens":4,"temperature":0,"ignore_eos":true,"echo":true,"logprobs":1,"stream":true}""");
        var (allTokens, allLogprobs, allOffsets) = (new List<string>(), new List<double?>(), new List<int>());
        await foreach (var chunk in Chunks(streamed))
        {
            var logprobs = chunk.GetProperty("choices")[0].GetProperty("logprobs");
            allTokens.AddRange(logprobs.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()!));
            allLogprobs.AddRange(logprobs.GetProperty("token_logprobs").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? (double?)null : e.GetDouble()));
            allOffsets.AddRange(logprobs.GetProperty("text_offset").EnumerateArray().Select(e => e.GetInt32()));
        }

        AssertLogprobs(allTokens, allLogprobs, allOffsets);
    }

    [Fact]
    public async Task Echo_with_max_tokens_0_answers_the_prompt_alone_with_its_log_probabilities_and_generates_nothing()
    {
        // What evaluation harnesses ask to score a text: the prompt's own log-probabilities, no completion.
        var expected = await ReferenceChunks("and then", new SamplingParameters { Temperature = 0, MaxTokens = 1, IgnoreEos = true, PromptLogprobs = 1 });
        double?[] wanted = [null, .. expected.Chunks[0].PromptLogprobs!.Select(l => (double?)l.Logprob)];
        string[] promptTokens = [.. expected.PromptIds.Select(TokenText)];
        using (var response = await Post("""{"model":"tiny","prompt":"and then","max_tokens":0,"echo":true,"logprobs":1,"return_token_ids":true}"""))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var choice = doc.RootElement.GetProperty("choices")[0];
            Assert.Equal("and then", choice.GetProperty("text").GetString());
            Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
            Assert.Equal(0, choice.GetProperty("token_ids").GetArrayLength());
            var logprobs = choice.GetProperty("logprobs");
            Assert.Equal(promptTokens, logprobs.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()!));
            Assert.Equal(wanted, logprobs.GetProperty("token_logprobs").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? (double?)null : e.GetDouble()), new CloseComparer());
            var usage = doc.RootElement.GetProperty("usage");
            Assert.Equal((expected.PromptIds.Length, 0), (usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32()));
        }

        // Streamed: one chunk with the prompt and the finish, then the usage.
        using var streamed = await Post("""{"model":"tiny","prompt":"and then","max_tokens":0,"echo":true,"logprobs":1,"stream":true,"stream_options":{"include_usage":true}}""");
        var events = new List<string>();
        await foreach (var item in SseParser.Create(await streamed.Content.ReadAsStreamAsync()).EnumerateAsync())
        {
            events.Add(item.Data);
        }

        Assert.Equal(3, events.Count);
        using (var chunk = JsonDocument.Parse(events[0]))
        {
            var choice = chunk.RootElement.GetProperty("choices")[0];
            Assert.Equal(("and then", "length"), (choice.GetProperty("text").GetString(), choice.GetProperty("finish_reason").GetString()));
            Assert.Equal(wanted, choice.GetProperty("logprobs").GetProperty("token_logprobs").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? (double?)null : e.GetDouble()), new CloseComparer());
        }

        using (var usage = JsonDocument.Parse(events[1]))
        {
            Assert.Equal(0, usage.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }

        Assert.Equal("[DONE]", events[2]);
    }

    [Fact]
    public async Task Prompt_logprobs_give_each_prompt_token_its_logprob_and_rank_and_the_k_most_likely_on_completions_and_chat()
    {
        var expected = await ReferenceChunks("and then", new SamplingParameters { Temperature = 0, MaxTokens = 2, IgnoreEos = true, PromptLogprobs = 2 });
        var reference = expected.Chunks[0].PromptLogprobs!;

        // Position j: the prompt's token first, then the two most likely (ranks 1 and 2) that are not it.
        void AssertPromptLogprobs(JsonElement list, int[] prompt)
        {
            Assert.Equal(prompt.Length, list.GetArrayLength());
            Assert.Equal(JsonValueKind.Null, list[0].ValueKind);
            for (var j = 1; j < prompt.Length; j++)
            {
                var at = reference[j - 1];
                (int, double, int, string)[] want = [(prompt[j], at.Logprob, at.Rank, TokenText(prompt[j])), .. at.Top.Select((t, r) => (t.TokenId, (double)t.Logprob, r + 1, TokenText(t.TokenId))).Where(t => t.TokenId != prompt[j])];
                var got = list[j].EnumerateObject().Select(p => (int.Parse(p.Name, CultureInfo.InvariantCulture), p.Value.GetProperty("logprob").GetDouble(), p.Value.GetProperty("rank").GetInt32(), p.Value.GetProperty("decoded_token").GetString()!)).ToArray();
                Assert.Equal(want.Select(t => (t.Item1, t.Item3, t.Item4)), got.Select(t => (t.Item1, t.Item3, t.Item4)));
                Assert.Equal(want.Select(t => (double?)t.Item2), got.Select(t => (double?)t.Item2), new CloseComparer());
            }
        }

        using (var response = await Post("""{"model":"tiny","prompt":"and then","max_tokens":2,"temperature":0,"ignore_eos":true,"prompt_logprobs":2}"""))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var choice = doc.RootElement.GetProperty("choices")[0];
            AssertPromptLogprobs(choice.GetProperty("prompt_logprobs"), expected.PromptIds);
            Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);        // not asked for
            Assert.Equal(expected.Text, choice.GetProperty("text").GetString());
        }

        using (var streamed = await Post("""{"model":"tiny","prompt":"and then","max_tokens":2,"temperature":0,"ignore_eos":true,"prompt_logprobs":2,"stream":true}"""))
        {
            var carried = 0;
            await foreach (var item in SseParser.Create(await streamed.Content.ReadAsStreamAsync()).EnumerateAsync())
            {
                if (item.Data != "[DONE]" && JsonDocument.Parse(item.Data).RootElement.GetProperty("choices")[0].TryGetProperty("prompt_logprobs", out var list))
                {
                    AssertPromptLogprobs(list, expected.PromptIds);
                    carried++;
                }
            }

            Assert.Equal(1, carried);                                                           // on the choice's first chunk only
        }

        // Chat: on the response, for the rendered prompt.
        var chat = await ReferenceChunks(ChatPrompt(new ProntoChatMessage("user", "and then")), new SamplingParameters { Temperature = 0, MaxTokens = 2, IgnoreEos = true, PromptLogprobs = 2 });
        reference = chat.Chunks[0].PromptLogprobs!;
        using var chatResponse = await Post("""{"model":"tiny","messages":[{"role":"user","content":"and then"}],"max_tokens":2,"temperature":0,"ignore_eos":true,"prompt_logprobs":2}""", "/v1/chat/completions");
        Assert.Equal(HttpStatusCode.OK, chatResponse.StatusCode);
        using var chatDoc = JsonDocument.Parse(await chatResponse.Content.ReadAsStringAsync());
        AssertPromptLogprobs(chatDoc.RootElement.GetProperty("prompt_logprobs"), chat.PromptIds);
    }

    /// <summary>Log-probabilities equal to 1e-4 (JSON writes floats as the shortest round trip), nulls equal.</summary>
    private sealed class CloseComparer : IEqualityComparer<double?>
    {
        public bool Equals(double? x, double? y) => x is null ? y is null : y is not null && Math.Abs(x.Value - y.Value) < 1e-4;

        public int GetHashCode(double? obj) => 0;
    }

    [Fact]
    public async Task Streamed_chunks_carry_the_token_ids_and_logprobs_of_the_text_they_send()
    {
        var expected = await ReferenceChunks("and then", new SamplingParameters { Temperature = 0, MaxTokens = 14, IgnoreEos = true, Logprobs = 1 });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent("""{"model":"tiny","prompt":"and then","max_tokens":14,"temperature":0,"ignore_eos":true,"logprobs":1,"return_token_ids":true,"stream":true}""", Encoding.UTF8, "application/json"),
        };
        using var response = await fixture.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Guard);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var ids = new List<int>();
        var tokens = new List<string>();
        var offsets = new List<int>();
        var text = new StringBuilder();
        var promptIds = new List<int[]>();
        await foreach (var chunk in Chunks(response))
        {
            var choice = chunk.GetProperty("choices")[0];
            text.Append(choice.GetProperty("text").GetString());
            if (choice.TryGetProperty("prompt_token_ids", out var p))
            {
                promptIds.Add([.. p.EnumerateArray().Select(e => e.GetInt32())]);
            }

            var chunkIds = choice.GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var logprobs = choice.GetProperty("logprobs");
            Assert.Equal(chunkIds.Length, logprobs.GetProperty("tokens").GetArrayLength());
            ids.AddRange(chunkIds);
            tokens.AddRange(logprobs.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()!));
            offsets.AddRange(logprobs.GetProperty("text_offset").EnumerateArray().Select(e => e.GetInt32()));
        }

        Assert.Equal(expected.Text, text.ToString());
        Assert.Equal([expected.PromptIds], promptIds);
        Assert.Equal(expected.Chunks.Select(c => c.TokenId), ids);
        Assert.Equal(expected.Chunks.Select(c => TokenText(c.TokenId)), tokens);
        Assert.Equal(tokens.Select((_, i) => tokens.Take(i).Sum(t => t.Length)), offsets);
    }

    [Fact]
    public async Task N_choices_per_prompt_are_numbered_prompt_major_and_draw_from_seed_plus_their_index()
    {
        var sampled = new SamplingParameters { Temperature = 1f, Seed = 40, MaxTokens = 8, IgnoreEos = true };
        var expected = new List<string>();
        foreach (var prompt in new[] { "the cat", "and then" })
        {
            for (var j = 0; j < 3; j++)
            {
                expected.Add((await ReferenceChunks(prompt, sampled with { Seed = 40 + (ulong)j })).Text);
            }
        }

        Assert.True(expected.Take(3).Distinct().Count() > 1, "the seeds give the same text");
        using var response = await Post("""{"model":"tiny","prompt":["the cat","and then"],"n":3,"max_tokens":8,"temperature":1,"seed":40,"ignore_eos":true}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var choices = doc.RootElement.GetProperty("choices").EnumerateArray().ToArray();
        Assert.Equal(Enumerable.Range(0, 6), choices.Select(c => c.GetProperty("index").GetInt32()));
        Assert.Equal(expected, choices.Select(c => c.GetProperty("text").GetString()));
        var promptTokens = (await ReferenceChunks("the cat", sampled)).PromptIds.Length + (await ReferenceChunks("and then", sampled)).PromptIds.Length;
        Assert.Equal(promptTokens, doc.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());   // each prompt once
        Assert.Equal(48, doc.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task A_streamed_chat_with_n_choices_sends_a_role_chunk_and_the_text_of_each()
    {
        var prompt = ChatPrompt(new ProntoChatMessage("user", "tell me a story"));
        var sampled = new SamplingParameters { Temperature = 1f, Seed = 9, MaxTokens = 10, IgnoreEos = true };
        string[] expected = [(await ReferenceChunks(prompt, sampled)).Text, (await ReferenceChunks(prompt, sampled with { Seed = 10 })).Text];
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"tiny","messages":[{"role":"user","content":"tell me a story"}],"n":2,"max_tokens":10,"temperature":1,"seed":9,"ignore_eos":true,"stream":true}""", Encoding.UTF8, "application/json"),
        };
        using var response = await fixture.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Guard);
        var texts = new[] { new StringBuilder(), new StringBuilder() };
        var roles = new List<int>();
        var finishes = new List<int>();
        await foreach (var chunk in Chunks(response))
        {
            var choice = chunk.GetProperty("choices")[0];
            var index = choice.GetProperty("index").GetInt32();
            var delta = choice.GetProperty("delta");
            if (delta.TryGetProperty("role", out _))
            {
                roles.Add(index);
            }

            if (delta.TryGetProperty("content", out var content))
            {
                texts[index].Append(content.GetString());
            }

            if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String)
            {
                finishes.Add(index);
            }
        }

        Assert.Equal([0, 1], roles);
        Assert.Equal([0, 1], finishes.Order());
        Assert.Equal(expected, texts.Select(t => t.ToString()));
    }

    private static double Sample(string metrics, string series)
    {
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Time_to_first_token_inter_token_latency_and_queue_time_count_each_choice_s_tokens()
    {
        const string First = "pronto_time_to_first_token_seconds_count{model=\"plain\"}";
        const string Inter = "pronto_inter_token_latency_seconds_count{model=\"plain\"}";
        var before = await fixture.Http.GetStringAsync("/metrics").WaitAsync(Guard);
        using (var response = await Post("""{"model":"plain","prompt":["a","b"],"max_tokens":5,"ignore_eos":true}"""))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using (var streamed = await Post("""{"model":"plain","prompt":"c","max_tokens":4,"ignore_eos":true,"stream":true}"""))
        {
            Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
            await streamed.Content.ReadAsStringAsync();
        }

        var after = await fixture.Http.GetStringAsync("/metrics").WaitAsync(Guard);
        Assert.Equal(3, Sample(after, First) - Sample(before, First));                 // one first token per choice
        Assert.Equal(2 * 4 + 3, Sample(after, Inter) - Sample(before, Inter));         // the tokens after it
        Assert.True(Sample(after, "pronto_time_to_first_token_seconds_sum{model=\"plain\"}") > 0);

        // Each finished choice: its end-to-end time and its token count (5, 5 and 4).
        Assert.Equal(3, Sample(after, "pronto_e2e_request_latency_seconds_count{model=\"plain\"}") - Sample(before, "pronto_e2e_request_latency_seconds_count{model=\"plain\"}"));
        Assert.Equal(3, Sample(after, "pronto_request_generation_tokens_count{model=\"plain\"}") - Sample(before, "pronto_request_generation_tokens_count{model=\"plain\"}"));
        Assert.Equal(14, Sample(after, "pronto_request_generation_tokens_sum{model=\"plain\"}") - Sample(before, "pronto_request_generation_tokens_sum{model=\"plain\"}"));
        double Bucket(string metrics, string le) => Sample(metrics, $"pronto_request_generation_tokens_bucket{{model=\"plain\",le=\"{le}\"}}");
        Assert.Equal((0, 3), (Bucket(after, "2") - Bucket(before, "2"), Bucket(after, "5") - Bucket(before, "5")));

        // Each finished choice's prompt tokens ("a", "b" and "c": one token each), and each choice's time in the queue.
        Assert.Equal((3, 3), (Sample(after, "pronto_request_prompt_tokens_count{model=\"plain\"}") - Sample(before, "pronto_request_prompt_tokens_count{model=\"plain\"}"),
            Sample(after, "pronto_request_prompt_tokens_sum{model=\"plain\"}") - Sample(before, "pronto_request_prompt_tokens_sum{model=\"plain\"}")));
        Assert.Equal(3, Sample(after, "pronto_request_queue_time_seconds_count{model=\"plain\"}") - Sample(before, "pronto_request_queue_time_seconds_count{model=\"plain\"}"));

        // The KV cache gauges are there (their values between steps: GenerationEngineTests; right after a response
        // the loop may not have taken the finished sequence out yet, so no value is asserted here).
        Assert.Contains("\npronto_generation_kv_cache_tokens{model=\"plain\",version=\"1\"} ", after, StringComparison.Ordinal);
        Assert.Contains("\npronto_generation_kv_cache_bytes{model=\"plain\",version=\"1\"} ", after, StringComparison.Ordinal);

        // The budget's share only for a model that has a budget (nothing runs on "budgeted" now: its caches hold nothing).
        Assert.Contains("\npronto_generation_kv_cache_usage_ratio{model=\"budgeted\",version=\"1\"} 0\n", after, StringComparison.Ordinal);
        Assert.DoesNotContain("pronto_generation_kv_cache_usage_ratio{model=\"plain\"", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Triton_s_generate_answers_text_output_equal_to_the_engine_s_completion()
    {
        var expected = await Expected("the cat", 6, ignoreEos: true);
        foreach (var (path, body) in new[]
        {
            ("/v2/models/tiny/generate", """{"text_input":"the cat","parameters":{"max_tokens":6,"temperature":0,"ignore_eos":true}}"""),
            ("/v2/models/tiny/versions/1/generate", """{"text_input":"the cat","max_tokens":6,"ignore_eos":true,"parameters":{"temperature":0,"stream":false}}"""),
        })
        {
            using var response = await Post(body, path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("tiny", doc.RootElement.GetProperty("model_name").GetString());
            Assert.Equal("1", doc.RootElement.GetProperty("model_version").GetString());
            Assert.Equal(expected.Text, doc.RootElement.GetProperty("text_output").GetString());
        }
    }

    [Fact]
    public async Task Triton_s_generate_stream_sends_the_text_as_server_sent_events()
    {
        var expected = await Expected("and then", 20, ignoreEos: true);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/tiny/generate_stream")
        {
            Content = new StringContent("""{"text_input":"and then","parameters":{"max_tokens":20,"temperature":0,"ignore_eos":true}}""", Encoding.UTF8, "application/json"),
        };
        using var response = await fixture.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Guard);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var text = new StringBuilder();
        var events = 0;
        await foreach (var item in SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync())
        {
            using var chunk = JsonDocument.Parse(item.Data);
            Assert.Equal("tiny", chunk.RootElement.GetProperty("model_name").GetString());
            text.Append(chunk.RootElement.GetProperty("text_output").GetString());
            events++;
        }

        Assert.Equal(expected.Text, text.ToString());
        Assert.True(events >= 3, $"{events} events");
    }

    [Theory]
    [InlineData("/v2/models/tiny/generate", """{"parameters":{"max_tokens":2}}""", 400, "'text_input' is required")]
    [InlineData("/v2/models/tiny/generate", """{"text_input":"x","parameters":{"temperature":3}}""", 400, "'temperature' must be from 0 to 2, got 3")]
    [InlineData("/v2/models/tiny/generate", """{"text_input":"x","parameters":5}""", 400, "'parameters' must be an object")]
    [InlineData("/v2/models/tiny/generate_stream", """{"text_input":"x","n":2}""", 400, "'n' must be 1")]
    [InlineData("/v2/models/ghost/generate", """{"text_input":"x"}""", 404, "unknown model 'ghost'")]
    [InlineData("/v2/models/adder/generate", """{"text_input":"x"}""", 400, "model 'adder' is not a generative model")]
    [InlineData("/v2/models/tiny/versions/7/generate", """{"text_input":"x"}""", 404, "model 'tiny' has no version '7'")]
    public async Task Bad_generate_requests_are_triton_errors(string path, string body, int status, string message)
    {
        using var response = await Post(body, path);
        Assert.Equal(status, (int)response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(message, doc.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_model_in_genai_layout_shows_its_platform_and_completes_as_the_optimum_copy_does()
    {
        using var metadata = JsonDocument.Parse(await fixture.Http.GetStringAsync("/v2/models/genai"));
        Assert.Equal("onnxruntime_genai", metadata.RootElement.GetProperty("platform").GetString());
        string Text(JsonDocument d) => d.RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;
        const string Body = """{"model":"MODEL","prompt":"the cat","max_tokens":12,"temperature":0,"ignore_eos":true}""";
        using var tiny = await Post(Body.Replace("MODEL", "tiny", StringComparison.Ordinal), "/v1/completions");
        using var genai = await Post(Body.Replace("MODEL", "genai", StringComparison.Ordinal), "/v1/completions");
        Assert.Equal(HttpStatusCode.OK, genai.StatusCode);
        using var expected = JsonDocument.Parse(await tiny.Content.ReadAsStringAsync());
        using var actual = JsonDocument.Parse(await genai.Content.ReadAsStringAsync());
        Assert.Equal(Text(expected), Text(actual));
        Assert.Equal(12, actual.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        // No temperature in the request: the folder's search section (do_sample false) makes it greedy, as GenAI does.
        using var defaulted = await Post("""{"model":"genai","prompt":"the cat","max_tokens":12,"ignore_eos":true}""", "/v1/completions");
        using var defaultedDoc = JsonDocument.Parse(await defaulted.Content.ReadAsStringAsync());
        Assert.Equal(Text(expected), Text(defaultedDoc));
    }

    [Fact]
    public async Task Best_of_returns_the_n_candidates_with_the_highest_cumulative_log_probability()
    {
        // The four candidates best_of 4 draws (seeds 2 to 5), shown by n 4 with their log-probabilities.
        using var all = await Post("""{"model":"tiny","prompt":"the cat","n":4,"seed":2,"temperature":1,"max_tokens":6,"ignore_eos":true,"logprobs":0}""");
        using var allDoc = JsonDocument.Parse(await all.Content.ReadAsStringAsync());
        var candidates = allDoc.RootElement.GetProperty("choices").EnumerateArray()
            .Select(c => (Text: c.GetProperty("text").GetString()!, Sum: c.GetProperty("logprobs").GetProperty("token_logprobs").EnumerateArray().Sum(l => (double)l.GetSingle())))
            .ToList();
        var ranked = candidates.Select((c, j) => (c.Text, c.Sum, j)).OrderByDescending(c => c.Sum).ThenBy(c => c.j).ToList();
        Assert.Equal([3, 1], ranked.Take(2).Select(c => c.j)); // this seed's best two are not simply the first two

        using var best = await Post("""{"model":"tiny","prompt":"the cat","n":2,"best_of":4,"seed":2,"temperature":1,"max_tokens":6,"ignore_eos":true}""");
        Assert.Equal(HttpStatusCode.OK, best.StatusCode);
        using var doc = JsonDocument.Parse(await best.Content.ReadAsStringAsync());
        var choices = doc.RootElement.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal(ranked.Take(2).Select(c => c.Text), choices.Select(c => c.GetProperty("text").GetString()));
        Assert.Equal([0, 1], choices.Select(c => c.GetProperty("index").GetInt32()));
        Assert.All(choices, c => Assert.Equal(JsonValueKind.Null, c.GetProperty("logprobs").ValueKind)); // not asked for
        Assert.Equal(12, doc.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Models_lists_the_generative_models()
    {
        using var doc = JsonDocument.Parse(await fixture.Http.GetStringAsync("/v1/models"));
        Assert.Equal(["bos", "budgeted", "genai", "llama", "pair", "plain", "tiny"], doc.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
    }

    [Theory]
    [InlineData("/v1/completions", """{"model":"ghost","prompt":"x"}""", 404, "unknown model 'ghost'")]
    [InlineData("/v1/completions", """{"model":"adder","prompt":"x"}""", 400, "model 'adder' is not a generative model")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","max_tokens":-1}""", 400, "'max_tokens' must be at least 1 (0 only with echo, which scores the prompt), got -1")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","max_tokens":96}""", 400, "model 'tiny' reads 96 tokens at most; this request asks for 97 (1 in the prompt, 96 to generate)")]
    [InlineData("/v1/completions", """{"model":"budgeted","prompt":[1,2,3],"max_tokens":38}""", 400, "the prompt's 3 tokens and max_tokens 38 need 41 cache tokens; model 'budgeted' holds 40 at most (pronto.generative.max_cache_tokens)")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":[1,999]}""", 400, "token id 999 is outside the vocabulary of model 'tiny'")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","temperature":3}""", 400, "'temperature' must be from 0 to 2, got 3")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","top_p":0}""", 400, "'top_p' must be greater than 0")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","stop":5}""", 400, "'stop' must be a string or an array of strings")]
    [InlineData("/v1/completions", """{"model":"tiny"}""", 400, "'prompt' is required")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","n":17}""", 400, "'n' must be at most 16, got 17")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","n":0}""", 400, "'n' must be a positive integer, got 0")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","n":2,"best_of":1}""", 400, "'best_of' must be at least 'n' (2), got 1")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","best_of":17}""", 400, "'best_of' must be at most 16, got 17")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","best_of":2,"stream":true}""", 400, "'best_of' greater than 'n' cannot be streamed")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","logprobs":21}""", 400, "'logprobs' must be from 0 to 20, got 21")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","echo":"yes"}""", 400, "'echo' must be true or false")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","prompt_logprobs":21}""", 400, "'prompt_logprobs' must be from 0 to 20, got 21")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","max_tokens":0}""", 400, "'max_tokens' must be at least 1 (0 only with echo, which scores the prompt), got 0")]
    [InlineData("/v1/chat/completions", """{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", 400, "'max_tokens' must be at least 1, got 0")]
    [InlineData("/v1/chat/completions", """{"model":"tiny","messages":[{"role":"user","content":"hi"}],"continue_final_message":true}""", 400, "'continue_final_message' and 'add_generation_prompt' cannot both be true: set 'add_generation_prompt' to false to continue the last message")]
    [InlineData("/v1/chat/completions", """{"model":"tiny","messages":[{"role":"user","content":"hi"}],"add_generation_prompt":"no"}""", 400, "'add_generation_prompt' must be true or false")]
    [InlineData("/v1/chat/completions", """{"model":"tiny","messages":[{"role":"user","content":"hi"}],"top_logprobs":2}""", 400, "'top_logprobs' needs 'logprobs': true")]
    [InlineData("/v1/chat/completions", """{"model":"tiny","messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":30}""", 400, "'top_logprobs' must be from 0 to 20, got 30")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":""", 400, "malformed JSON")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","min_p":-0.1}""", 400, "'min_p' must be from 0 to 1, got -0.1")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","repetition_penalty":0}""", 400, "'repetition_penalty' must be greater than 0, got 0")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","presence_penalty":2.5}""", 400, "'presence_penalty' must be from -2 to 2, got 2.5")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","frequency_penalty":"high"}""", 400, "'frequency_penalty' must be a number")]
    [InlineData("/v1/completions", """{"model":"tiny","prompt":"x","max_tokens":4,"min_tokens":5}""", 400, "'min_tokens' must be from 0 to max_tokens (4), got 5")]
    [InlineData("/v1/chat/completions", """{"model":"tiny","messages":[{"role":"user","content":"hi"}],"min_tokens":1.5}""", 400, "'min_tokens' must be an integer")]
    [InlineData("/v1/chat/completions", """{"model":"plain","messages":[{"role":"user","content":"hi"}]}""", 400, "model 'plain' cannot render chat messages: it has no chat template")]
    [InlineData("/v1/chat/completions", """{"model":"tiny","messages":[]}""", 400, "'messages' is required")]
    [InlineData("/v1/chat/completions", """{"model":"tiny","messages":[{"content":"hi"}]}""", 400, "each message needs a 'role' string")]
    public async Task Bad_requests_are_OpenAI_errors_and_the_server_keeps_serving(string path, string body, int status, string message)
    {
        using var response = await fixture.Http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json")).WaitAsync(Guard);
        Assert.Equal(status, (int)response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = doc.RootElement.GetProperty("error");
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(status >= 500 ? "server_error" : "invalid_request_error", error.GetProperty("type").GetString());

        using var ok = await fixture.Http.PostAsync("/v1/completions", new StringContent("""{"model":"tiny","prompt":"x","max_tokens":2}""", Encoding.UTF8, "application/json")).WaitAsync(Guard);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_stream_frees_its_sequence()
    {
        using var lease = fixture.Server.Repository.Acquire("plain");
        var engine = lease.Model.Generative!.Engine;
        var before = engine.GeneratedTokens;
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        engine.SequenceCancelled = () => cancelled.TrySetResult();
        engine.BeforeStep = async token =>
        {
            // From the third step on the sequence stays in the batch until the disconnect reaches it, however long
            // the server takes to notice; an earlier disconnect takes it out at an earlier step.
            if (++calls == 3)
            {
                await engine.WhenAnyRunningCancelled().WaitAsync(token);
            }
        };

        // A raw socket, so the disconnect is exactly a closed connection (HttpClient may drain a response it disposes).
        using (var socket = new System.Net.Sockets.TcpClient())
        {
            await socket.ConnectAsync(fixture.Server.HttpUri.Host, fixture.Server.HttpUri.Port).WaitAsync(Guard);
            var body = """{"model":"plain","prompt":"the","max_tokens":80,"ignore_eos":true,"stream":true,"seed":1}""";
            var stream = socket.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}"));
            var received = new StringBuilder();
            var buffer = new byte[4096];
            while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(Guard);
                Assert.True(read > 0, "the server closed the connection");
                received.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            // Headers came, so the handler has queued the sequence. Closing the connection (a reset) is the disconnect.
            Assert.StartsWith("HTTP/1.1 200", received.ToString(), StringComparison.Ordinal);
            socket.Client.LingerState = new System.Net.Sockets.LingerOption(true, 0);
        }

        await cancelled.Task.WaitAsync(Guard);
        Assert.Equal(0, engine.Running);
        Assert.Equal(0, engine.Waiting);
        Assert.True(engine.GeneratedTokens - before < 80, $"{engine.GeneratedTokens - before} tokens generated");
        engine.BeforeStep = null;
        engine.SequenceCancelled = null;

        // /metrics shows the same: nothing running or waiting, the tokens that were generated.
        var metrics = await fixture.Http.GetStringAsync("/metrics").WaitAsync(Guard);
        Assert.Contains("pronto_generation_running_sequences{model=\"plain\",version=\"1\"} 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("pronto_generation_waiting_sequences{model=\"plain\",version=\"1\"} 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"pronto_generation_tokens_total{{model=\"plain\",version=\"1\"}} {engine.GeneratedTokens}\n"), metrics, StringComparison.Ordinal);

        using var next = await fixture.Http.PostAsync("/v1/completions", new StringContent("""{"model":"plain","prompt":"x","max_tokens":2}""", Encoding.UTF8, "application/json")).WaitAsync(Guard);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task Two_streams_past_the_cache_budget_preempt_one_which_still_streams_the_same_tokens_and_metrics_count_it()
    {
        using var lease = fixture.Server.Repository.Acquire("budgeted"); // 40 cache tokens
        var engine = lease.Model.Generative!.Engine;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        engine.BeforeStep = async token =>
        {
            // The first stream has run one iteration; the loop waits here until the second is queued too.
            if (++calls == 2)
            {
                await release.Task.WaitAsync(token);
            }
        };

        // 3 + 30 tokens each: alone they fit 40, together they do not.
        const string Body = """{"model":"budgeted","prompt":[1,2,3],"max_tokens":30,"temperature":0,"ignore_eos":true,"stream":true}""";
        async Task<HttpResponseMessage> Open()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(Body, Encoding.UTF8, "application/json") };
            var response = await fixture.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Guard);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode); // headers came: the handler has queued its sequence
            return response;
        }

        static async Task<(string Text, string? Finish)> Read(HttpResponseMessage response)
        {
            var text = new StringBuilder();
            string? finish = null;
            await foreach (var chunk in Chunks(response))
            {
                var choice = chunk.GetProperty("choices")[0];
                text.Append(choice.GetProperty("text").GetString());
                finish = choice.GetProperty("finish_reason").GetString() ?? finish;
            }

            return (text.ToString(), finish);
        }

        var preemptions = engine.Preemptions;
        try
        {
            using var first = await Open();
            using var second = await Open();
            release.SetResult();
            var texts = await Task.WhenAll(Read(first), Read(second)).WaitAsync(Guard);

            Assert.Equal(("length", "length"), (texts[0].Finish, texts[1].Finish));
            Assert.Equal(texts[0].Text, texts[1].Text); // the preempted stream recomputed its cache and went on alike
            Assert.Equal(2, engine.LargestBatch);
            Assert.Equal(1, engine.Preemptions - preemptions);
        }
        finally
        {
            engine.BeforeStep = null;
        }

        var metrics = await fixture.Http.GetStringAsync("/metrics").WaitAsync(Guard);
        Assert.Equal(engine.Preemptions, Sample(metrics, "pronto_generation_preemptions_total{model=\"budgeted\",version=\"1\"}"));
    }

    [Fact]
    public async Task A_model_of_two_engines_serves_on_both_and_its_metrics_are_their_sums()
    {
        using var lease = fixture.Server.Repository.Acquire("pair");
        var engines = lease.Model.Generative!.Engines;
        Assert.Equal(2, engines.Count);
        var gate = new StepGate();
        engines[0].BeforeStep = gate.Hook;
        try
        {
            // The first request waits on the first engine, held by the gate; the second runs on the other meanwhile.
            var first = fixture.Http.PostAsync("/v1/completions", new StringContent("""{"model":"pair","prompt":"the","max_tokens":3,"ignore_eos":true}""", Encoding.UTF8, "application/json"));
            await gate.Reached.WaitAsync(Guard);
            using (var second = await fixture.Http.PostAsync("/v1/completions", new StringContent("""{"model":"pair","prompt":"a","max_tokens":2,"ignore_eos":true}""", Encoding.UTF8, "application/json")).WaitAsync(Guard))
            {
                Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            }

            var metrics = await fixture.Http.GetStringAsync("/metrics").WaitAsync(Guard);
            Assert.Equal((0L, 2L), (engines[0].GeneratedTokens, engines[1].GeneratedTokens));
            Assert.Equal(1, Sample(metrics, "pronto_generation_waiting_sequences{model=\"pair\",version=\"1\"}"));
            Assert.Equal(2, Sample(metrics, "pronto_generation_tokens_total{model=\"pair\",version=\"1\"}"));

            gate.Open();
            using var done = await first.WaitAsync(Guard);
            Assert.Equal(HttpStatusCode.OK, done.StatusCode);
            metrics = await fixture.Http.GetStringAsync("/metrics").WaitAsync(Guard);
            Assert.Equal((3L, 2L), (engines[0].GeneratedTokens, engines[1].GeneratedTokens));
            Assert.Equal(0, Sample(metrics, "pronto_generation_waiting_sequences{model=\"pair\",version=\"1\"}"));
            Assert.Equal(5, Sample(metrics, "pronto_generation_tokens_total{model=\"pair\",version=\"1\"}"));
            var tokenizer = lease.Model.Generative!.Tokenizer;
            Assert.Equal(tokenizer.Encode("the").Length + tokenizer.Encode("a").Length, Sample(metrics, "pronto_prompt_tokens_total{model=\"pair\",version=\"1\"}"));
        }
        finally
        {
            engines[0].BeforeStep = null;
        }
    }
}
