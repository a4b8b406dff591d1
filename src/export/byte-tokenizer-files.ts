/**
 * Tokenizer files for our byte tokenizer (one token per UTF-8 byte, id b =
 * byte b). Hugging Face has no plain byte model, so it is written as a
 * byte-level BPE with no merges: the ByteLevel pre-tokenizer turns each byte
 * into its alphabet character, and with no merges every character is its
 * own token, whose id we set to the byte's value.
 */
import { byteTokenizer } from '../data/tokenizers';
import { BYTE_TO_UNICODE } from './byte-level';
import { byteLevelBpeFiles } from './hf-tokenizer-files';

export function byteTokenizerFiles(modelMaxLength: number): Map<string, Uint8Array> {
  // byteTokenizer has no end-of-text token today; should it get one, its id must be a real token.
  const eotId = byteTokenizer.eotToken;
  if (eotId !== null) throw new Error(`byte tokenizer: an end-of-text token (${eotId}) is not supported by the export yet`);
  return byteLevelBpeFiles({
    vocab: BYTE_TO_UNICODE,
    merges: [],
    // GPT-2's regex only decides where merges may not cross; with none it would change nothing.
    gpt2Split: false,
    eot: null,
    // Not GPT2Tokenizer: that class adds <|endoftext|> as a 257th token when the config names none.
    tokenizerClass: 'PreTrainedTokenizerFast',
    modelMaxLength,
  });
}
