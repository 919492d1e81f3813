using System.Diagnostics;
using System.Net.Http.Headers;

namespace Pronto.LoadGen;

/// <summary>
/// Closed loop: <c>concurrency</c> workers each send the next request as soon as the previous answer arrives.
/// Warm-up requests are sent first and not counted. A non-2xx answer counts as an error.
/// </summary>
public static class ClosedLoop
{
    public static async Task<LoadResult> RunAsync(HttpClient client, Uri url, byte[] body, string contentType, int requests, int concurrency, int warmup)
    {
        for (var i = 0; i < warmup; i++)
        {
            await SendAsync(client, url, body, contentType);
        }

        var latencies = new double[requests];
        var next = -1;
        var errors = 0;
        var total = Stopwatch.StartNew();
        var workers = new Task[concurrency];
        for (var w = 0; w < concurrency; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                int index;
                while ((index = Interlocked.Increment(ref next)) < requests)
                {
                    var start = Stopwatch.GetTimestamp();
                    var ok = await SendAsync(client, url, body, contentType);
                    latencies[index] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                    if (!ok)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
            });
        }

        await Task.WhenAll(workers);
        total.Stop();
        Array.Sort(latencies);
        return new LoadResult(requests, errors, total.Elapsed.TotalSeconds, latencies);
    }

    private static async Task<bool> SendAsync(HttpClient client, Uri url, byte[] body, string contentType)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        using var response = await client.PostAsync(url, content);
        await response.Content.ReadAsByteArrayAsync();
        return response.IsSuccessStatusCode;
    }
}
