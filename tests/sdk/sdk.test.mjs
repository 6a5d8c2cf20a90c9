// The official OpenAI SDK (npm `openai`, pinned in package-lock.json) as a client of the real
// nexus-api, relaying to the mock SiliconFlow upstream. Applications reach nexus-api through this
// SDK unchanged: only baseURL and the API key (a nexus token) differ.
//
// Run by `make test` through ctest, which sets NEXUS_BIN and NEXUS_MOCK_BIN.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRelay } from '../support/spawn.mjs';
import OpenAI from 'openai';

const ADMIN_KEY = 'sdk-admin-key-0123456789abcdef';
const UPSTREAM_KEY = 'sk-mock-sdk-upstream-key-0123';
const TOKEN = 'sk-nexus-sdk-test-token-0123456789';

let relay;
let baseURL;
const admin = (...args) => relay.admin(...args);

before(async () => {
  relay = await startRelay({
    upstreamKey: UPSTREAM_KEY,
    adminKey: ADMIN_KEY,
    // The failure scenarios below must not rest the one channel for the tests after them.
    env: { NEXUS_CHANNEL_COOLDOWN_SECONDS: '0' },
  });
  baseURL = `${relay.root}/v1`;
  await admin('POST', '/api/channel', {
    type: 'SiliconFlow',
    name: 'mock SiliconFlow',
    key: UPSTREAM_KEY,
    base_url: relay.upstream,
  });
  await admin('POST', '/api/token', { name: 'sdk', key: TOKEN });
});

after(() => relay?.stop());

// No retries: each scenario's first answer is the one under test.
const client = () => new OpenAI({ apiKey: TOKEN, baseURL, maxRetries: 0, timeout: 20000 });
const messages = [{ role: 'user', content: 'hi' }];

test('chat completion', async () => {
  const completion = await client().chat.completions.create({ model: 'Qwen/Qwen2.5-7B-Instruct', messages });
  assert.equal(completion.choices[0].message.content, 'Hello from mock');
  assert.equal(completion.choices[0].finish_reason, 'stop');
  assert.deepEqual(completion.usage, { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
  assert.match(completion._request_id, /^[0-9a-f]{32}$/);
});

test('streaming: the text reassembled is what the upstream sent', async () => {
  const stream = await client().chat.completions.create(
    // mock_frames paces the mock upstream; the relay forwards the body as it is.
    { model: 'Qwen/Qwen2.5-7B-Instruct', messages, stream: true, mock_frames: 6 },
  );
  let text = '';
  let chunks = 0;
  for await (const chunk of stream) {
    chunks += 1;
    assert.equal(chunk.object, 'chat.completion.chunk');
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  assert.equal(chunks, 6);
  assert.equal(text, 'tok0 tok1 tok2 tok3 tok4 tok5 ');
});

test('streaming with include_usage ends with a usage chunk', async () => {
  const stream = await client().chat.completions.create(
    { model: 'Qwen/Qwen2.5-7B-Instruct', messages, stream: true, stream_options: { include_usage: true }, mock_frames: 4 },
  );
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.equal(chunks.length, 5);
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
  assert.equal(last.id, chunks[0].id);
  for (const chunk of chunks.slice(0, -1)) assert.equal(chunk.choices.length, 1);
});

test('a bad token raises AuthenticationError', async () => {
  const bad = new OpenAI({ apiKey: 'sk-not-a-nexus-token', baseURL, maxRetries: 0 });
  await assert.rejects(bad.chat.completions.create({ model: 'm', messages }), (err) => {
    assert.ok(err instanceof OpenAI.AuthenticationError, err.constructor.name);
    assert.equal(err.status, 401);
    assert.equal(err.code, 'invalid_api_key');
    assert.match(err.requestID, /^[0-9a-f]{32}$/);
    return true;
  });
});

test('an upstream 429 raises RateLimitError with retry-after passed on', async () => {
  await assert.rejects(client().chat.completions.create({ model: 'mock-rate-limit', messages }), (err) => {
    assert.ok(err instanceof OpenAI.RateLimitError, err.constructor.name);
    assert.equal(err.status, 429);
    assert.equal(err.headers.get('retry-after'), '7');
    assert.match(err.message, /rate limiting/);
    return true;
  });
});

test("a token's quota refusal raises RateLimitError with code insufficient_quota", async () => {
  const key = 'sk-nexus-sdk-quota-0123456789';
  await admin('PUT', '/api/price/priced-model', { per_request: 10 }, 200);
  await admin('POST', '/api/token', { name: 'poor', key, remain_quota: 5 });
  const poor = new OpenAI({ apiKey: key, baseURL, maxRetries: 0 });
  await assert.rejects(poor.chat.completions.create({ model: 'priced-model', messages }), (err) => {
    assert.ok(err instanceof OpenAI.RateLimitError, err.constructor.name);
    assert.equal(err.status, 429);
    assert.equal(err.code, 'insufficient_quota');
    assert.equal(err.type, 'insufficient_quota');
    return true;
  });
});

test("a model the token may not use raises PermissionDeniedError", async () => {
  const key = 'sk-nexus-sdk-models-0123456789';
  await admin('POST', '/api/token', { name: 'narrow', key, models: ['Qwen/Qwen2.5-7B-Instruct'] });
  const narrow = new OpenAI({ apiKey: key, baseURL, maxRetries: 0 });
  const ok = await narrow.chat.completions.create({ model: 'Qwen/Qwen2.5-7B-Instruct', messages });
  assert.equal(ok.choices[0].message.content, 'Hello from mock');
  await assert.rejects(narrow.chat.completions.create({ model: 'other-model', messages }), (err) => {
    assert.ok(err instanceof OpenAI.PermissionDeniedError, err.constructor.name);
    assert.equal(err.status, 403);
    assert.equal(err.code, 'model_not_allowed');
    return true;
  });
});

test('an upstream 400 (unknown model) raises BadRequestError with the upstream message', async () => {
  await assert.rejects(client().chat.completions.create({ model: 'mock-unknown-model', messages }), (err) => {
    assert.ok(err instanceof OpenAI.BadRequestError, err.constructor.name);
    assert.equal(err.status, 400);
    assert.equal(err.message, '400 Model does not exist. Please check it carefully.');
    assert.equal(err.code, '20012');
    return true;
  });
});

test('an upstream 5xx raises InternalServerError', async () => {
  await assert.rejects(client().chat.completions.create({ model: 'mock-overloaded', messages }), (err) => {
    assert.ok(err instanceof OpenAI.InternalServerError, err.constructor.name);
    assert.equal(err.status, 503);
    assert.match(err.message, /overloaded/);
    return true;
  });
});

test('an upstream dying mid-stream raises an error in the iterating client', async () => {
  const stream = await client().chat.completions.create({ model: 'mock-die-mid-stream', messages, stream: true });
  let text = '';
  await assert.rejects(
    (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    })(),
    (err) => {
      assert.ok(err instanceof OpenAI.APIError, err.constructor.name);
      assert.match(err.message, /broke in the middle of the stream/);
      return true;
    },
  );
  assert.equal(text, 'tok0 tok1 ', 'the frames before the break arrived');
});

test('models.list() and models.retrieve()', async () => {
  const ids = [];
  for await (const model of client().models.list()) {
    assert.equal(model.object, 'model');
    ids.push(model.id);
  }
  assert.deepEqual(ids, ['BAAI/bge-m3', 'Qwen/Qwen2.5-7B-Instruct']);
  const model = await client().models.retrieve('Qwen/Qwen2.5-7B-Instruct');
  assert.equal(model.id, 'Qwen/Qwen2.5-7B-Instruct');
  await assert.rejects(client().models.retrieve('no-such-model'), OpenAI.NotFoundError);
});

test('embeddings.create(), base64 by default and floats on request', async () => {
  const packed = await client().embeddings.create({ model: 'BAAI/bge-m3', input: ['a', 'b'] });
  assert.equal(packed.data.length, 2);
  assert.deepEqual(Array.from(packed.data[0].embedding), [0.25, -0.5, 0.125]);
  assert.equal(packed.usage.total_tokens, 4);
  const floats = await client().embeddings.create({ model: 'BAAI/bge-m3', input: 'a', encoding_format: 'float' });
  assert.deepEqual(floats.data[0].embedding, [0.25, -0.5, 0.125]);
});

test('completions, streamed', async () => {
  const stream = await client().completions.create({ model: 'm', prompt: 'Once', stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
  assert.equal(text, 'tok0 tok1 tok2 ');
});

test('audio: a transcription upload and speech bytes', async () => {
  const file = await OpenAI.toFile(Buffer.from('ID3 fake audio bytes'), 'hello.mp3', { type: 'audio/mpeg' });
  const transcription = await client().audio.transcriptions.create({ file, model: 'FunAudioLLM/SenseVoiceSmall' });
  assert.equal(transcription.text, 'transcribed by FunAudioLLM/SenseVoiceSmall');
  const speech = await client().audio.speech.create({ model: 'tts', input: 'hello', voice: 'alloy' });
  const bytes = new Uint8Array(await speech.arrayBuffer());
  assert.equal(bytes.length, 3000);
  assert.ok(bytes.every((b, i) => b === i % 251));
});
