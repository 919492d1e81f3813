using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Core.Errors;
using Pronto.Core.Generation;
using Pronto.Core.Repository;
using Pronto.Server.Metrics;

namespace Pronto.Server.Http;

/// <summary>
/// OpenAI's text generation routes over generative models (<see cref="GenerativeModel"/>): <c>POST /v1/completions</c>
/// (one choice per prompt; the prompts of one request run concurrently and so share decode steps) and
/// <c>POST /v1/chat/completions</c> (messages rendered with the model's chat template). With <c>stream: true</c> the
/// answer is Server-Sent Events as OpenAI sends them: <c>data: {chunk}\n\n</c> per piece of text, a final chunk with
/// <c>finish_reason</c>, a usage chunk (empty <c>choices</c>) when <c>stream_options.include_usage</c>, then
/// <c>data: [DONE]\n\n</c>. A client that disconnects cancels its sequences (the request's abort token), which leave
/// the batch at the next step. Errors before the first byte are OpenAI error objects (<see cref="ErrorMiddleware"/>);
/// after it, one <c>data: {"error":...}</c> event and <c>[DONE]</c>.
/// </summary>
internal static class OpenAiGeneration
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void MapOpenAiGenerationRoutes(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").WithTags("OpenAI-compatible");
        v1.MapPost("/completions", (HttpContext c) => Generate(c, chat: false)).WithSummary("Text completion of a prompt (a string, strings, or token ids); stream: true for Server-Sent Events.");
        v1.MapPost("/chat/completions", (HttpContext c) => Generate(c, chat: true)).WithSummary("Chat completion of messages with the model's chat template; stream: true for Server-Sent Events.");

        // Triton's generate extension: text_input in, text_output out (one JSON object, or Server-Sent Events).
        var v2 = app.MapGroup("/v2").WithTags("Triton generate extension");
        v2.MapPost("/models/{model}/generate", (HttpContext c, string model) => Generate(c, chat: false, new TritonRoute(model, null, Stream: false)))
            .WithSummary("Triton's generate: {\"text_input\", \"parameters\": {...}} -> {\"model_name\", \"model_version\", \"text_output\"}.");
        v2.MapPost("/models/{model}/versions/{version}/generate", (HttpContext c, string model, string version) => Generate(c, chat: false, new TritonRoute(model, version, Stream: false)));
        v2.MapPost("/models/{model}/generate_stream", (HttpContext c, string model) => Generate(c, chat: false, new TritonRoute(model, null, Stream: true)))
            .WithSummary("Triton's generate_stream: the same request, the text as Server-Sent Events of {\"model_name\", \"model_version\", \"text_output\"}.");
        v2.MapPost("/models/{model}/versions/{version}/generate_stream", (HttpContext c, string model, string version) => Generate(c, chat: false, new TritonRoute(model, version, Stream: true)));
    }

    private static async Task Generate(HttpContext context, bool chat, TritonRoute? triton = null)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var options = context.RequestServices.GetRequiredService<ProntoServerOptions>();
        GenerationRequest request;
        using (var body = await RequestBody.ReadAsync(context.Request, options.MaxRequestBodyBytes, context.RequestAborted))
        {
            request = triton is { } route ? GenerationRequest.ParseTriton(body.Memory.Span, route.Model) : GenerationRequest.Parse(body.Memory.Span, chat);
        }

        var repository = context.RequestServices.GetRequiredService<ModelRepository>();

        // The lease spans the whole generation: an unload waits for the streams it would cut.
        using var lease = repository.Acquire(request.Model, triton?.Version);
        var model = lease.Model.Generative
            ?? ProntoErrors.InvalidArgument<GenerativeModel>($"model '{request.Model}' is not a generative model");
        int[] Encode(string text) => request.AddSpecialTokens ? model.Tokenizer.EncodePrompt(text) : model.Tokenizer.Encode(text);
        var distinct = chat
            ? [Encode(model.ChatTemplate.Render(model.Name, request.Messages!, request.AddGenerationPrompt, request.ContinueFinalMessage))]
            : request.Prompts.Select(p => p.TokenIds ?? Encode(p.Text!)).ToArray();

        // Chat: the reply is the assistant's unless the prompt leaves the last message open (vLLM's role rule); chat's
        // echo writes the last message's content first when the reply continues its role.
        var last = chat ? request.Messages![^1] : null;
        var role = last is null || request.AddGenerationPrompt ? "assistant" : last.Role;

        // best_of candidates (n unless asked) per prompt, prompt-major (candidate index = prompt x best_of + j), as
        // OpenAI numbers choices. With a seed, candidate j draws from seed + j: different candidates, each reproducible.
        // Ranking candidates needs each token's log-probability, asked for or not (the response shows them only if asked).
        var n = request.N;
        var candidates = request.BestOf;
        var prompts = new int[distinct.Length * candidates][];
        var sampling = new SamplingParameters[prompts.Length];
        for (var i = 0; i < prompts.Length; i++)
        {
            prompts[i] = distinct[i / candidates];
            sampling[i] = model.Defaults.Apply(request.Sampling, request.GivenSampling) with
            {
                // Echo alone still runs the prompt through the decode loop (its log-probabilities come from the
                // prefill); the one token the prefill yields is not part of the answer (PromptOnly).
                MaxTokens = request.EchoOnly ? 1 : model.MaxTokensFor(prompts[i].Length, request.MaxTokens, model.Defaults.MaxNewTokens ?? (chat ? null : GenerationRequest.DefaultCompletionTokens)),
                MinTokens = request.EchoOnly ? 0 : request.Sampling.MinTokens,
                Seed = request.Sampling.Seed is { } seed ? unchecked(seed + (ulong)(i % candidates)) : null,
                Logprobs = request.Sampling.Logprobs ?? (candidates > n ? 0 : null),
            };
        }

        // Every prompt is checked before any is queued, so a bad one is a plain 400 and runs nothing; the request's
        // own token cancels what it queued when it fails or the client goes away.
        for (var i = 0; i < prompts.Length; i++)
        {
            model.Engine.Validate(prompts[i], sampling[i]);
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        using var cancelOnExit = new CancelOnDispose(cancel);
        var metrics = context.RequestServices.GetRequiredService<ServerMetrics>();
        var streams = new IAsyncEnumerable<GenerationChunk>[prompts.Length];
        for (var i = 0; i < prompts.Length; i++)
        {
            streams[i] = Timed(model.Generate(prompts[i], sampling[i], cancel.Token), metrics, model.Name, started, prompts[i].Length);
            if (request.EchoOnly)
            {
                streams[i] = PromptOnly(streams[i]);
            }
        }

        var time = context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System;
        int[][] choicePrompts = [.. Enumerable.Range(0, distinct.Length * n).Select(i => distinct[i / n])];
        var response = new ResponseHeader(
            (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N"),
            chat ? "chat.completion" : "text_completion",
            time.GetUtcNow().ToUnixTimeSeconds(),
            model.Name,
            chat,
            request.ReturnTokenIds ? choicePrompts : null,
            request.Sampling.Logprobs is not null ? model.Tokenizer : null,
            request.Echo ? [.. choicePrompts.Select((ids, i) => new EchoedPrompt(request.Prompts[i / n].Text ?? model.Tokenizer.Decode(ids), ids))] : null)
        {
            PromptLogprobs = request.PromptLogprobs,
            ChatRole = role,
            ChatEcho = request.EchoLastMessage && last is not null && last.Role == role && last.Content.Length > 0 ? last.Content : null,
            EchoLogprobs = request.Sampling.Logprobs ?? 0,
            Prompts = choicePrompts,
            Vocabulary = model.Tokenizer,
        };
        var promptTotal = distinct.Sum(p => p.Length);
        if (triton is { } generate)
        {
            await TritonGenerate.RespondAsync(context, lease.Model.Name, lease.Model.VersionText, streams[0], generate.Stream);
        }
        else if (request.Stream)
        {
            await StreamAsync(context, response, streams, promptTotal, request.IncludeUsage);
        }
        else
        {
            var results = await Task.WhenAll(streams.Select(Collect));
            if (candidates > n)
            {
                results = Best(results, candidates, n);
            }

            await JsonResponse.WriteAsync(context, StatusCodes.Status200OK, w => WriteResponse(w, response, results, promptTotal));
        }

        metrics.ObserveRequest(model.Name, triton is null ? "openai" : "generate", started);
    }

    /// <summary>
    /// The choice's chunks as they come, timing the first from the request's start (and recording the queue time it
    /// carries) and each next from the one before; a choice that ends (not one whose client left) records its
    /// end-to-end time and its prompt and generated token counts.
    /// </summary>
    private static async IAsyncEnumerable<GenerationChunk> Timed(IAsyncEnumerable<GenerationChunk> stream, ServerMetrics metrics, string model, long started, int promptTokens)
    {
        var last = 0L;
        var tokens = 0;
        await foreach (var chunk in stream.ConfigureAwait(false))
        {
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            if (last == 0)
            {
                metrics.ObserveFirstToken(model, System.Diagnostics.Stopwatch.GetElapsedTime(started, now).TotalSeconds, chunk.QueueTime);
            }
            else
            {
                metrics.ObserveInterToken(model, System.Diagnostics.Stopwatch.GetElapsedTime(last, now).TotalSeconds);
            }

            last = now;
            tokens++;
            yield return chunk;
        }

        if (last != 0)
        {
            metrics.ObserveFinishedChoice(model, System.Diagnostics.Stopwatch.GetElapsedTime(started, last).TotalSeconds, promptTokens, tokens);
        }
    }

    /// <summary>
    /// Echo alone (max_tokens 0): the stream's one chunk with its token taken out, so only what it carries for the
    /// prompt (its log-probabilities) and the finish (length, as max_tokens 0 is reached) are left.
    /// </summary>
    private static async IAsyncEnumerable<GenerationChunk> PromptOnly(IAsyncEnumerable<GenerationChunk> stream)
    {
        await foreach (var chunk in stream.ConfigureAwait(false))
        {
            yield return chunk with { TokenId = NoToken, Text = string.Empty, Logprobs = null, Finish = FinishReason.Length };
        }
    }

    /// <summary>The token id of a chunk that carries no token (echo alone).</summary>
    private const int NoToken = -1;

    /// <summary>
    /// Of each prompt's <paramref name="candidates"/>, the <paramref name="n"/> with the highest cumulative
    /// log-probability of their tokens, best first (the earlier candidate on a tie); usage then counts the returned
    /// choices' tokens, as vLLM's does.
    /// </summary>
    private static Choice[] Best(Choice[] results, int candidates, int n)
    {
        var best = new List<Choice>(results.Length / candidates * n);
        for (var start = 0; start < results.Length; start += candidates)
        {
            best.AddRange(results.Skip(start).Take(candidates)
                .Select((choice, j) => (choice, j, Sum: choice.Tokens.Sum(t => (double)t.Logprobs!.Logprob)))
                .OrderByDescending(c => c.Sum).ThenBy(c => c.j)
                .Take(n)
                .Select(c => c.choice));
        }

        return [.. best];
    }

    private static async Task<Choice> Collect(IAsyncEnumerable<GenerationChunk> stream)
    {
        var text = new System.Text.StringBuilder();
        var tokens = new List<GenerationChunk>();
        FinishReason? finish = null;
        GenerationChunk? first = null;
        await foreach (var chunk in stream.ConfigureAwait(false))
        {
            first ??= chunk;
            if (chunk.TokenId != NoToken)
            {
                tokens.Add(chunk);
            }

            text.Append(chunk.Text);
            finish = chunk.Finish;
        }

        return new Choice(text.ToString(), tokens, finish, first);
    }

    private static async Task StreamAsync(HttpContext context, ResponseHeader header, IAsyncEnumerable<GenerationChunk>[] streams, int promptTokens, bool includeUsage)
    {
        var http = context.Response;
        http.StatusCode = StatusCodes.Status200OK;
        http.ContentType = "text/event-stream; charset=utf-8";
        http.Headers.CacheControl = "no-cache";
        await http.StartAsync(context.RequestAborted);

        // The headers go out now, not with the first text: a stream whose first tokens are held back (an incomplete
        // UTF-8 character, a possible stop string) would otherwise leave the client without a response.
        await http.Body.FlushAsync(context.RequestAborted);

        // Choices arrive in step order, interleaved; each pump forwards one choice's chunks with its index.
        var merged = Channel.CreateUnbounded<(int Index, GenerationChunk Chunk)>(new UnboundedChannelOptions { SingleReader = true });
        var pumps = new Task[streams.Length];
        for (var i = 0; i < streams.Length; i++)
        {
            pumps[i] = Pump(i, streams[i], merged.Writer);
        }

        var completion = Task.WhenAll(pumps).ContinueWith(
            t => merged.Writer.TryComplete(t.Exception?.InnerException),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        var buffer = new ArrayBufferWriter<byte>(512);
        var completionTokens = 0;

        // Tokens whose text is held back (an incomplete character, a possible stop string) ride on the next chunk
        // written for their choice, so token_ids and logprobs line up with the text sent; text offsets run per choice.
        var pending = new List<GenerationChunk>[streams.Length];
        var offsets = new int[streams.Length];
        var started = new bool[streams.Length];
        for (var i = 0; i < pending.Length; i++)
        {
            pending[i] = [];
        }

        ChunkTokens Take(int index)
        {
            var first = !started[index];
            var echoed = first && header.Echo is { } echo && header.Tokenizer is not null ? echo[index].Tokens(pending[index][0], header.EchoLogprobs) : [];
            var tokens = new ChunkTokens([.. pending[index].Where(c => c.TokenId != NoToken)], offsets[index], header.PromptTokenIds is not null && !header.Chat && first ? header.PromptTokenIds[index] : null, first, echoed)
            {
                PromptLogprobs = first ? pending[index][0].PromptLogprobs : null,
            };
            offsets[index] += tokens.Logprobbed.Sum(c => header.Tokenizer?.TokenText(c.TokenId).Length ?? 0);
            started[index] = true;
            pending[index].Clear();
            return tokens;
        }

        try
        {
            if (header.Chat)
            {
                // OpenAI's first chat chunk of each choice carries the role alone (the first also, with
                // return_token_ids, the prompt's ids).
                for (var i = 0; i < streams.Length; i++)
                {
                    var index = i;
                    await WriteEventAsync(http, buffer, w => WriteChunk(w, header, index, string.Empty, null, role: true, includeUsage, ChunkTokens.None, firstOfStream: index == 0), context.RequestAborted);
                }

                // Chat's echo: the last message's content, a chunk of its own per choice (as vLLM streams it).
                for (var i = 0; i < streams.Length && header.ChatEcho is { } echoed; i++)
                {
                    var index = i;
                    await WriteEventAsync(http, buffer, w => WriteChunk(w, header, index, echoed, null, role: false, includeUsage, ChunkTokens.None), context.RequestAborted);
                }
            }

            await foreach (var (index, chunk) in merged.Reader.ReadAllAsync(context.RequestAborted))
            {
                completionTokens += chunk.TokenId == NoToken ? 0 : 1;
                pending[index].Add(chunk);
                if (chunk.Text.Length > 0 || chunk.Finish is not null)
                {
                    var tokens = Take(index);
                    if (header.Chat && chunk.Finish is not null && chunk.Text.Length > 0)
                    {
                        // The finish chunk of a chat stream has an empty delta: the last text goes first.
                        await WriteEventAsync(http, buffer, w => WriteChunk(w, header, index, chunk.Text, null, role: false, includeUsage, tokens), context.RequestAborted);
                        await WriteEventAsync(http, buffer, w => WriteChunk(w, header, index, null, chunk.Finish, role: false, includeUsage, ChunkTokens.None), context.RequestAborted);
                    }
                    else
                    {
                        // With echo, a completion choice's first chunk starts with its prompt's text.
                        var text = header.Echo is { } echo && tokens.First ? echo[index].Text + chunk.Text : chunk.Text;
                        await WriteEventAsync(http, buffer, w => WriteChunk(w, header, index, header.Chat && chunk.Finish is not null ? null : text, chunk.Finish, role: false, includeUsage, tokens), context.RequestAborted);
                    }
                }
            }

            if (includeUsage)
            {
                await WriteEventAsync(http, buffer, w => WriteUsageChunk(w, header, promptTokens, completionTokens), context.RequestAborted);
            }
        }
        catch (ProntoException e)
        {
            await WriteEventAsync(http, buffer, w => WriteErrorObject(w, e), context.RequestAborted);
        }

        await http.Body.WriteAsync("data: [DONE]\n\n"u8.ToArray(), context.RequestAborted);
        await http.Body.FlushAsync(context.RequestAborted);
        await completion;
    }

    private static async Task Pump(int index, IAsyncEnumerable<GenerationChunk> stream, ChannelWriter<(int, GenerationChunk)> writer)
    {
        await foreach (var chunk in stream.ConfigureAwait(false))
        {
            writer.TryWrite((index, chunk));
        }
    }

    /// <summary>One Server-Sent Event, <c>data: {json}\n\n</c>, flushed (also Triton's generate_stream).</summary>
    internal static async Task WriteEventAsync(HttpResponse http, ArrayBufferWriter<byte> buffer, Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
    {
        buffer.Clear();
        buffer.Write("data: "u8);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(json);
        }

        buffer.Write("\n\n"u8);
        await http.Body.WriteAsync(buffer.WrittenMemory, cancellationToken);
        await http.Body.FlushAsync(cancellationToken);
    }

    private static void WriteHeader(Utf8JsonWriter w, ResponseHeader header, bool chunk)
    {
        w.WriteString("id"u8, header.Id);
        w.WriteString("object"u8, chunk && header.Chat ? "chat.completion.chunk" : header.Object);
        w.WriteNumber("created"u8, header.Created);
        w.WriteString("model"u8, header.Model);
    }

    private static void WriteChunk(Utf8JsonWriter w, ResponseHeader header, int index, string? text, FinishReason? finish, bool role, bool includeUsage, ChunkTokens tokens, bool firstOfStream = false)
    {
        w.WriteStartObject();
        WriteHeader(w, header, chunk: true);
        if (firstOfStream && header.Chat && header.PromptTokenIds is { } promptIds)
        {
            WriteIds(w, "prompt_token_ids"u8, promptIds[0]);
        }

        if (header.Chat && index == 0 && tokens.PromptLogprobs is { } chatPrompt)
        {
            WritePromptLogprobs(w, header, header.Prompts[0], chatPrompt);
        }

        w.WriteStartArray("choices"u8);
        w.WriteStartObject();
        w.WriteNumber("index"u8, index);
        if (tokens.PromptTokenIds is { } choicePrompt)
        {
            WriteIds(w, "prompt_token_ids"u8, choicePrompt);
        }

        if (!header.Chat && tokens.PromptLogprobs is { } prompt)
        {
            WritePromptLogprobs(w, header, header.Prompts[index], prompt);
        }

        if (header.Chat)
        {
            w.WriteStartObject("delta"u8);
            if (role)
            {
                w.WriteString("role"u8, header.ChatRole);
            }

            if (text is not null)
            {
                w.WriteString("content"u8, text);
            }

            w.WriteEndObject();
        }
        else
        {
            w.WriteString("text"u8, text ?? string.Empty);
        }

        WriteLogprobs(w, header, tokens.Logprobbed, tokens.TextOffset);
        if (header.PromptTokenIds is not null && tokens.Chunks.Length > 0)
        {
            WriteIds(w, "token_ids"u8, tokens.Chunks.Select(c => c.TokenId));
        }

        WriteFinish(w, finish);
        w.WriteEndObject();
        w.WriteEndArray();
        if (includeUsage)
        {
            // With include_usage OpenAI writes "usage": null on every chunk but the last.
            w.WriteNull("usage"u8);
        }

        w.WriteEndObject();
    }

    private static void WriteUsageChunk(Utf8JsonWriter w, ResponseHeader header, int promptTokens, int completionTokens)
    {
        w.WriteStartObject();
        WriteHeader(w, header, chunk: true);
        w.WriteStartArray("choices"u8);
        w.WriteEndArray();
        WriteUsage(w, promptTokens, completionTokens);
        w.WriteEndObject();
    }

    private static void WriteResponse(Utf8JsonWriter w, ResponseHeader header, Choice[] choices, int promptTokens)
    {
        w.WriteStartObject();
        WriteHeader(w, header, chunk: false);
        if (header.Chat && header.PromptTokenIds is { } promptIds)
        {
            // vLLM: chat's prompt ids on the response, completions' on each choice (each has its own prompt).
            WriteIds(w, "prompt_token_ids"u8, promptIds[0]);
        }

        if (header.Chat && choices.Length > 0 && choices[0].First?.PromptLogprobs is { } chatPrompt)
        {
            WritePromptLogprobs(w, header, header.Prompts[0], chatPrompt);
        }

        w.WriteStartArray("choices"u8);
        var completionTokens = 0;
        for (var i = 0; i < choices.Length; i++)
        {
            var choice = choices[i];
            completionTokens += choice.Tokens.Count;
            w.WriteStartObject();
            w.WriteNumber("index"u8, i);
            if (!header.Chat && header.PromptTokenIds is { } ids)
            {
                WriteIds(w, "prompt_token_ids"u8, ids[i]);
            }

            if (!header.Chat && choice.First?.PromptLogprobs is { } prompt)
            {
                WritePromptLogprobs(w, header, header.Prompts[i], prompt);
            }

            if (header.Chat)
            {
                w.WriteStartObject("message"u8);
                w.WriteString("role"u8, header.ChatRole);
                w.WriteString("content"u8, header.ChatEcho + choice.Text);
                w.WriteEndObject();
            }
            else
            {
                w.WriteString("text"u8, header.Echo is { } echo ? echo[i].Text + choice.Text : choice.Text);
            }

            WriteLogprobs(w, header, header.Echo is { } echoed && header.Tokenizer is not null && choice.First is { } first ? [.. echoed[i].Tokens(first, header.EchoLogprobs), .. choice.Tokens] : choice.Tokens, 0);
            if (header.PromptTokenIds is not null)
            {
                WriteIds(w, "token_ids"u8, choice.Tokens.Select(c => c.TokenId));
            }

            WriteFinish(w, choice.Finish);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        WriteUsage(w, promptTokens, completionTokens);
        w.WriteEndObject();
    }

    private static void WriteIds(Utf8JsonWriter w, ReadOnlySpan<byte> name, IEnumerable<int> ids)
    {
        w.WriteStartArray(name);
        foreach (var id in ids)
        {
            w.WriteNumberValue(id);
        }

        w.WriteEndArray();
    }

    /// <summary>
    /// <c>"logprobs"</c> of a choice or chunk: null when not asked for; chat's <c>{"content": [{token, logprob, bytes,
    /// top_logprobs}]}</c>; completions' legacy <c>{tokens, token_logprobs, top_logprobs, text_offset}</c>, whose
    /// top_logprobs maps token text to log-probability and holds the sampled token too (OpenAI's and vLLM's k + 1).
    /// </summary>
    private static void WriteLogprobs(Utf8JsonWriter w, ResponseHeader header, IReadOnlyList<GenerationChunk> tokens, int textOffset)
    {
        // A stream chunk that carries no token (chat's role and finish chunks) has none to report.
        if (header.Tokenizer is not { } tokenizer || tokens.Count == 0)
        {
            w.WriteNull("logprobs"u8);
            return;
        }

        w.WriteStartObject("logprobs"u8);
        if (header.Chat)
        {
            w.WriteStartArray("content"u8);
            foreach (var chunk in tokens)
            {
                w.WriteStartObject();
                WriteCandidate(w, tokenizer, chunk.TokenId, chunk.Logprobs!.Logprob);
                w.WriteStartArray("top_logprobs"u8);
                foreach (var top in chunk.Logprobs.Top)
                {
                    w.WriteStartObject();
                    WriteCandidate(w, tokenizer, top.TokenId, top.Logprob);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }
        else
        {
            w.WriteStartArray("tokens"u8);
            foreach (var chunk in tokens)
            {
                w.WriteStringValue(tokenizer.TokenText(chunk.TokenId));
            }

            w.WriteEndArray();
            // An echoed prompt's first token has no log-probability: null in both lists, as OpenAI writes it.
            w.WriteStartArray("token_logprobs"u8);
            foreach (var chunk in tokens)
            {
                if (chunk.Logprobs is null)
                {
                    w.WriteNullValue();
                    continue;
                }

                w.WriteNumberValue(chunk.Logprobs.Logprob);
            }

            w.WriteEndArray();
            w.WriteStartArray("top_logprobs"u8);
            foreach (var chunk in tokens)
            {
                if (chunk.Logprobs is null)
                {
                    w.WriteNullValue();
                    continue;
                }

                w.WriteStartObject();
                var written = new HashSet<string>(StringComparer.Ordinal);
                foreach (var top in chunk.Logprobs!.Top)
                {
                    if (written.Add(tokenizer.TokenText(top.TokenId)))
                    {
                        w.WriteNumber(tokenizer.TokenText(top.TokenId), top.Logprob);
                    }
                }

                if (written.Add(tokenizer.TokenText(chunk.TokenId)))
                {
                    w.WriteNumber(tokenizer.TokenText(chunk.TokenId), chunk.Logprobs.Logprob);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("text_offset"u8);
            foreach (var chunk in tokens)
            {
                w.WriteNumberValue(textOffset);
                textOffset += tokenizer.TokenText(chunk.TokenId).Length;
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// vLLM's <c>prompt_logprobs</c>: null for the first prompt token, then per position an object keyed by token id
    /// ({logprob, rank, decoded_token}): the prompt's own token first, then the k most likely (ranks 1 to k).
    /// </summary>
    private static void WritePromptLogprobs(Utf8JsonWriter w, ResponseHeader header, int[] prompt, IReadOnlyList<TokenLogprobs> logprobs)
    {
        if (header.PromptLogprobs is not { } k)
        {
            return;
        }

        w.WriteStartArray("prompt_logprobs"u8);
        w.WriteNullValue();
        for (var j = 1; j < prompt.Length; j++)
        {
            var at = logprobs[j - 1];
            w.WriteStartObject();
            WritePromptCandidate(w, header.Vocabulary, prompt[j], at.Logprob, at.Rank);
            for (var t = 0; t < Math.Min(k, at.Top.Count); t++)
            {
                if (at.Top[t].TokenId != prompt[j])
                {
                    WritePromptCandidate(w, header.Vocabulary, at.Top[t].TokenId, at.Top[t].Logprob, t + 1);
                }
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WritePromptCandidate(Utf8JsonWriter w, GenerativeTokenizer tokenizer, int id, float logprob, int rank)
    {
        w.WriteStartObject(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        w.WriteNumber("logprob"u8, logprob);
        w.WriteNumber("rank"u8, rank);
        w.WriteString("decoded_token"u8, tokenizer.TokenText(id));
        w.WriteEndObject();
    }

    private static void WriteCandidate(Utf8JsonWriter w, GenerativeTokenizer tokenizer, int id, float logprob)
    {
        var bytes = tokenizer.TokenBytes(id);
        w.WriteString("token"u8, System.Text.Encoding.UTF8.GetString(bytes));
        w.WriteNumber("logprob"u8, logprob);
        w.WriteStartArray("bytes"u8);
        foreach (var b in bytes)
        {
            w.WriteNumberValue(b);
        }

        w.WriteEndArray();
    }

    private static void WriteUsage(Utf8JsonWriter w, int promptTokens, int completionTokens)
    {
        w.WriteStartObject("usage"u8);
        w.WriteNumber("prompt_tokens"u8, promptTokens);
        w.WriteNumber("completion_tokens"u8, completionTokens);
        w.WriteNumber("total_tokens"u8, promptTokens + completionTokens);
        w.WriteEndObject();
    }

    private static void WriteFinish(Utf8JsonWriter w, FinishReason? finish)
    {
        switch (finish)
        {
            case FinishReason.Stop:
                w.WriteString("finish_reason"u8, "stop"u8);
                break;
            case FinishReason.Length:
                w.WriteString("finish_reason"u8, "length"u8);
                break;
            default:
                w.WriteNull("finish_reason"u8);
                break;
        }
    }

    private static void WriteErrorObject(Utf8JsonWriter w, ProntoException e) =>
        OpenAiErrors.WriteObject(w, HttpErrors.StatusFor(e.Code), e.Message, e.Code);

    /// <summary>Cancels the request's sequences on the way out, whether it succeeded (a no-op then) or failed.</summary>
    private readonly struct CancelOnDispose(CancellationTokenSource source) : IDisposable
    {
        public void Dispose() => source.Cancel();
    }

    /// <summary>A request through Triton's generate extension: the model (and version) from the route, streamed or not.</summary>
    private sealed record TritonRoute(string Model, string? Version, bool Stream);

    /// <param name="PromptTokenIds">With return_token_ids, each prompt's ids; else null.</param>
    /// <param name="Tokenizer">With logprobs, the model's tokenizer (token text and bytes); else null.</param>
    /// <param name="Echo">With completions' echo, each choice's prompt, written before its completion.</param>
    private sealed record ResponseHeader(string Id, string Object, long Created, string Model, bool Chat, int[][]? PromptTokenIds, GenerativeTokenizer? Tokenizer, EchoedPrompt[]? Echo)
    {
        /// <summary>vLLM's prompt_logprobs: how many alternatives per prompt position; null when not asked for.</summary>
        public int? PromptLogprobs { get; init; }

        /// <summary>The alternatives echo's legacy lists show (completions' logprobs).</summary>
        public int EchoLogprobs { get; init; }

        /// <summary>Chat: the reply's role (assistant, or the last message's when no generation prompt opens a reply).</summary>
        public string ChatRole { get; init; } = "assistant";

        /// <summary>Chat's echo: the last message's content, written before each choice's reply; else null.</summary>
        public string? ChatEcho { get; init; }

        /// <summary>Each choice's prompt ids.</summary>
        public int[][] Prompts { get; init; } = [];

        /// <summary>The model's tokenizer (token text for prompt_logprobs).</summary>
        public GenerativeTokenizer Vocabulary { get; init; } = null!;
    }

    /// <summary>An echoed prompt: its text and ids.</summary>
    private sealed record EchoedPrompt(string Text, int[] Ids)
    {
        /// <summary>
        /// The prompt's tokens as chunks for the legacy logprobs lists: the first without a log-probability, the others
        /// with the engine's (<see cref="GenerationChunk.PromptLogprobs"/> on the choice's first chunk).
        /// </summary>
        public GenerationChunk[] Tokens(GenerationChunk first, int top) =>
            [.. Ids.Select((id, j) => new GenerationChunk(id, string.Empty, null, j == 0 ? null : Trim(first.PromptLogprobs![j - 1], top)))];

        /// <summary>The engine's prompt list serves echo and prompt_logprobs at once: each takes its own count of alternatives.</summary>
        private static TokenLogprobs Trim(TokenLogprobs logprobs, int top) =>
            logprobs.Top.Count <= top ? logprobs : logprobs with { Top = [.. logprobs.Top.Take(top)] };
    }

    /// <param name="Tokens">The generated tokens' chunks.</param>
    /// <param name="First">The stream's first chunk (it carries the prompt's log-probabilities), also when it carries no token.</param>
    private sealed record Choice(string Text, IReadOnlyList<GenerationChunk> Tokens, FinishReason? Finish, GenerationChunk? First);

    /// <summary>The tokens one stream chunk carries, where its choice's text offset starts, and (first chunk of a completion choice) its prompt's ids.</summary>
    /// <param name="First">Whether this is the first chunk written for its choice.</param>
    /// <param name="Echoed">With echo and logprobs, on the first chunk: the prompt's tokens, listed before the chunk's own.</param>
    private readonly record struct ChunkTokens(GenerationChunk[] Chunks, int TextOffset, int[]? PromptTokenIds, bool First = false, GenerationChunk[]? Echoed = null)
    {
        public static ChunkTokens None => new([], 0, null);

        /// <summary>On a choice's first chunk: the prompt's log-probabilities the engine handed over (for prompt_logprobs).</summary>
        public IReadOnlyList<TokenLogprobs>? PromptLogprobs { get; init; }

        /// <summary>The tokens the chunk's logprobs list: the echoed prompt's, then its own.</summary>
        public GenerationChunk[] Logprobbed => Echoed is { Length: > 0 } echoed ? [.. echoed, .. Chunks] : Chunks;
    }
}
