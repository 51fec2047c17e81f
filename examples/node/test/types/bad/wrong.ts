// Must NOT compile: parseAmount answers a bigint, and chains are 'TRC20' | 'ERC20' | 'OMNI'.
import * as ur from 'usdt-recharge';

const n: number = ur.parseAmount('1');
ur.validateAddress('T…', 'BTC');
void n;
