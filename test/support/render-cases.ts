/**
 * The plans the consumer tests render (`kvcpu ... --format json` gives the plan and every
 * rendering): captured NUMA/SMT/arm/s390 hosts (../shared/reference/hosts via --root), pinned
 * and floating, hot-plug, asymmetric and uneven memory, -smp strings on several machines, and
 * `kvcpu plan` guests with dedicated/shared/mixed policies.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HOSTS = path.resolve(repo, '../shared/reference/hosts/cases');
const root = (id: string) => path.join(HOSTS, id, 'root');

export interface RenderCase {
  id: string;
  args: string[];
}

const suggest = (id: string, host: string, ...rest: string[]): RenderCase => ({
  id,
  args: ['topology', 'suggest', '--root', root(host), '--name', `kvt-render-${id}`, ...rest],
});
const smp = (id: string, spec: string, ...rest: string[]): RenderCase => ({ id, args: ['smp', spec, '--name', `kvt-render-${id}`, ...rest] });
const plan = (id: string, host: string, ...guests: string[]): RenderCase => ({
  id,
  args: ['plan', '--root', root(host), ...guests.flatMap((g) => ['--guest', `name=kvt-render-${id},${g}`])],
});

export const RENDER_CASES: RenderCase[] = [
  // Dell R710: 2 NUMA nodes, SMT siblings n and n+8.
  suggest('r710-pin-2nodes', 'ul-x86_64-dellr710', '--vcpus', '8', '--cpus', '0-7'),
  suggest('r710-pin-smt', 'ul-x86_64-dellr710', '--vcpus', '4', '--cpus', '0,8,2,10'),
  suggest('r710-pin-smt-2nodes', 'ul-x86_64-dellr710', '--vcpus', '8', '--cpus', '0,8,2,10,1,9,3,11', '--memory', '2048'),
  suggest('r710-float', 'ul-x86_64-dellr710', '--vcpus', '6'),
  suggest('r710-float-2nodes', 'ul-x86_64-dellr710', '--vcpus', '12', '--memory', '3000'),
  suggest('r710-hotplug-core', 'ul-x86_64-dellr710', '--vcpus', '8', '--max', '16'),
  suggest('r710-hotplug-socket', 'ul-x86_64-dellr710', '--vcpus', '8', '--cpus', '0-7', '--max', '12'),
  suggest('r710-win10', 'ul-x86_64-dellr710', '--vcpus', '4', '--cpus', '0-3', '--os', 'windows-10'),
  suggest('r710-pc', 'ul-x86_64-dellr710', '--vcpus', '4', '--machine', 'pc'),
  suggest('r710-pc-pinned', 'ul-x86_64-dellr710', '--vcpus', '4', '--cpus', '0,8,2,10', '--machine', 'pc'),
  // 4 sockets x 2 cores x 2 threads, one node.
  suggest('4s2c2t-pin-sockets', 'hw-16em64t-4s2c2t', '--vcpus', '8', '--cpus', '0,8,1,9,2,10,3,11'),
  suggest('4s2c2t-float', 'hw-16em64t-4s2c2t', '--vcpus', '16'),
  suggest('4s2c2t-max', 'hw-16em64t-4s2c2t', '--vcpus', '2', '--cpus', '0,8', '--max', '6'),
  // 3 NUMA nodes (0, 2, 3) of unequal size: uneven memory over 3 guest nodes.
  suggest('64cpu-3nodes-1000', 'ul-x86_64-64cpu', '--vcpus', '6', '--cpus', '0,2,1,5,3,7', '--memory', '1000'),
  suggest('64cpu-smt-3nodes', 'ul-x86_64-64cpu', '--vcpus', '12', '--cpus', '0,32,2,34,1,33,5,37,3,35,7,39', '--memory', '1536'),
  suggest('64cpu-float', 'ul-x86_64-64cpu', '--vcpus', '32'),
  // Dies: 2 packages x 4 dies x 2 nodes x 2 cores x 2 threads.
  suggest('dies-pin-l3', 'hw-fakecpuid1f-64intel64-2p4d2n2c2t', '--vcpus', '8', '--cpus', '0-7'),
  suggest('dies-pin-4nodes', 'hw-fakecpuid1f-64intel64-2p4d2n2c2t', '--vcpus', '16', '--cpus', '0-15', '--memory', '4096'),
  suggest('dies-win-server', 'hw-fakecpuid1f-64intel64-2p4d2n2c2t', '--vcpus', '32', '--cpus', '0-31', '--os', 'windows-server', '--memory', '8192'),
  // EPYC 7451: 8 nodes, SMT n and n+48.
  suggest('epyc-pin-node', 'ul-x86_64-epyc_7451', '--vcpus', '4', '--cpus', '0,48,1,49'),
  suggest('epyc-pin-8nodes', 'ul-x86_64-epyc_7451', '--vcpus', '16', '--cpus', '0,48,6,54,12,60,18,66,24,72,30,78,36,84,42,90', '--memory', '8192'),
  suggest('epyc-float-big', 'ul-x86_64-epyc_7451', '--vcpus', '64', '--memory', '4096'),
  suggest('epyc-hotplug', 'ul-x86_64-epyc_7451', '--vcpus', '12', '--cpus', '0-5,48-53', '--max', '24'),
  suggest('amd-8n-pin', 'hw-16amd64-8n2c', '--vcpus', '4', '--cpus', '0,2,4,6', '--memory', '1022'),
  suggest('amd-8n-float', 'hw-16amd64-8n2c', '--vcpus', '8'),
  // arm64 hosts: aarch64 virt guests.
  suggest('arm128-float', 'hw-128arm-2pa2n8cluster4co', '--vcpus', '8'),
  suggest('arm128-pin-2nodes', 'hw-128arm-2pa2n8cluster4co', '--vcpus', '8', '--cpus', '0-3,32-35'),
  suggest('arm128-hotplug', 'hw-128arm-2pa2n8cluster4co', '--vcpus', '4', '--max', '16'),
  suggest('arm-big-little', 'ul-arm-A510-A710-A715-X3', '--vcpus', '4', '--cpus', '4-7'),
  suggest('arm-gb10', 'hw-nvidia-dgx-gb10', '--vcpus', '10'),
  // -smp strings.
  smp('smp-8', '8'),
  smp('smp-smt', '8,threads=2', '--memory', '2048'),
  smp('smp-hotplug', '4,maxcpus=8'),
  smp('smp-asym-dies', '3,maxcpus=16,sockets=2,dies=2'),
  smp('smp-2s3c2t', 'sockets=2,cores=3,threads=2'),
  smp('smp-hot-smt', '6,maxcpus=8,sockets=2,threads=2'),
  smp('smp-3sockets', '12,sockets=3'),
  smp('smp-pc', '6,sockets=2', '--machine', 'pc'),
  smp('smp-microvm', '4', '--machine', 'microvm'),
  smp('smp-virt-clusters', '8,clusters=2', '--machine', 'virt'),
  smp('smp-virt-16', '16', '--machine', 'virt,gic-version=3'),
  smp('smp-s390', '4', '--machine', 's390-ccw-virtio'),
  smp('smp-288', '288', '--machine', 'q35'),
  smp('smp-1', '1'),
  // kvcpu plan guests (dedicated pins, NUMA, emulator, IOThreads; shared; mixed).
  plan('plan-ded-numa2', 'ul-x86_64-epyc_7451', 'vcpus=4,emulator=isolate,iothreads=1,numa=2'),
  plan('plan-ded-require', 'ul-x86_64-epyc_7451', 'vcpus=4,threads=require'),
  plan('plan-shared', 'ul-x86_64-dellr710', 'vcpus=4,policy=shared'),
  plan('plan-mixed', 'ul-x86_64-dellr710', 'vcpus=4,policy=mixed,mask=0-1,memory=2048'),
  plan('plan-numa3-1000', 'ul-x86_64-64cpu', 'vcpus=6,numa=3,memory=1000'),
];
