import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('leaves the pipeline thread at nice 0 by default; TESSERA_PIPELINE_NICE sets 0 to 19', () => {
    expect(loadConfig({}).pipelineNice).toBe(0);
    expect(loadConfig({ TESSERA_PIPELINE_NICE: '0' }).pipelineNice).toBe(0);
    expect(loadConfig({ TESSERA_PIPELINE_NICE: '19' }).pipelineNice).toBe(19);
  });

  it.each([
    ['20', 'TESSERA_PIPELINE_NICE must be 0 to 19, got 20'],
    ['-1', 'TESSERA_PIPELINE_NICE must be an integer ≥ 0, got "-1"'],
    ['low', 'TESSERA_PIPELINE_NICE must be an integer ≥ 0, got "low"'],
  ])('refuses TESSERA_PIPELINE_NICE=%s, naming the variable', (value, message) => {
    expect(() => loadConfig({ TESSERA_PIPELINE_NICE: value })).toThrow(message);
  });

  it('runs the pipeline thread at the normal policy by default; TESSERA_PIPELINE_POLICY=idle, nothing else', () => {
    expect(loadConfig({}).pipelinePolicy).toBe('normal');
    expect(loadConfig({ TESSERA_PIPELINE_POLICY: 'idle' }).pipelinePolicy).toBe('idle');
    expect(() => loadConfig({ TESSERA_PIPELINE_POLICY: 'batch' })).toThrow(
      'TESSERA_PIPELINE_POLICY must be "normal" or "idle", got "batch"',
    );
  });
});
