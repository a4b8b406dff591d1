/**
 * Creates the rewards treasury (mint, treasury token account, supply) and
 * prints it as JSON; idempotent. See server/chain/setup-command.ts for flags.
 *
 *   npx vite-node scripts/treasury-setup.ts -- --db .tessera/chain.sqlite --decimals 6
 *   npx vite-node scripts/treasury-setup.ts -- --rpc https://api.devnet.solana.com --keypair ~/.config/solana/id.json --decimals 6 --supply 1000000000000000
 */
import { runTreasurySetup } from '../server/chain/setup-command';

runTreasurySetup(process.argv.slice(2).filter((arg) => arg !== '--')).then(
  (report) => process.stdout.write(JSON.stringify(report, null, 2) + '\n'),
  (error: Error) => {
    process.stderr.write(`treasury-setup: ${error.name}: ${error.message}\n`);
    process.exitCode = 1;
  },
);
